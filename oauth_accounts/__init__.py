"""OAuth account linking: connect pages, encrypted token storage, single-flight refresh."""

from integrations import __version__

__all__ = ["__version__"]
