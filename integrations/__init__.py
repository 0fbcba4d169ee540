"""The foundation: encrypted fields, resilient outbound HTTP, payments and email services.

Imports neither `webhooks` nor `oauth_accounts`: they depend on this app, never the reverse.

`__version__` is the installed distribution's version (`liaison`, see pyproject.toml); a
source tree that was never installed reports `0+unknown` instead of failing to import.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("liaison")
except PackageNotFoundError:  # pragma: no cover - only without any install (not even -e .)
    __version__ = "0+unknown"

__all__ = ["__version__"]
