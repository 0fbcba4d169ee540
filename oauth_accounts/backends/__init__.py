"""The provider registry: one module per provider, one line here.

A provider id is also the social-auth backend name (stored as `UserSocialAuth.provider`) and
the last path segment of its URLs (`/oauth/login/<id>/`, `/oauth/complete/<id>/`).
"""

from __future__ import annotations

from typing import Any

from oauth_accounts.backends.base import LiaisonBackendMixin
from oauth_accounts.backends.github import GitHubBackend
from oauth_accounts.backends.google import GoogleBackend
from oauth_accounts.backends.oidc import OIDCBackend
from oauth_accounts.exceptions import ProviderNotConfigured, RevokeUnsupported, UnknownProvider

__all__ = [
    "PROVIDERS",
    "LiaisonBackendMixin",
    "RevokeUnsupported",
    "backend_for",
    "enabled_providers",
    "provider_class",
]

PROVIDERS: dict[str, type[Any]] = {
    cls.name: cls for cls in (GoogleBackend, GitHubBackend, OIDCBackend)
}


def provider_class(provider: str) -> type[Any]:
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise UnknownProvider(f"Unknown OAuth provider {provider!r}", provider=provider) from None


def enabled_providers() -> list[type[Any]]:
    """Providers whose credentials are set, in registry order."""
    return [cls for cls in PROVIDERS.values() if cls.is_configured()]


def backend_for(provider: str, *, request: Any = None, redirect_uri: str | None = None) -> Any:
    """A backend instance for service-side work (refresh, revoke), outside the OAuth views."""
    from social_django.utils import load_strategy

    cls = provider_class(provider)
    if not cls.is_configured():
        names = ", ".join(cls.credential_settings)
        raise ProviderNotConfigured(f"OAuth provider {provider!r} is not configured: set {names}.")
    return cls(load_strategy(request), redirect_uri=redirect_uri)
