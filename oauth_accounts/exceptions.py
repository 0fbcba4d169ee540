"""Exceptions of the `oauth_accounts` app.

`OAuthError` is the root. Whether retrying can help is visible in the type:
`TokenRefreshFailed` (transient: the provider was down or slow; the resilient client already
retried) versus `ReconnectRequired` (the grant is gone; only the user can fix it). Messages
never contain tokens. Configuration errors subclass `ImproperlyConfigured` and sit outside
`OAuthError`, so a broad `except OAuthError` cannot swallow them.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class OAuthError(Exception):
    """Root of OAuth account failures."""

    def __init__(self, message: str, *, provider: str = "", code: str = "") -> None:
        self.provider = provider
        self.code = code
        super().__init__(message)


class ReconnectRequired(OAuthError):
    """The account has no usable grant (revoked, refresh token rejected, never refreshable):
    the user must connect it again."""


class TokenRefreshFailed(OAuthError):
    """A refresh failed for a reason that may go away (provider down, breaker open, rate limit);
    the account keeps its tokens and backs off."""


class RevokeFailed(OAuthError):
    """The provider did not confirm the revocation (local tokens are deleted anyway)."""


class RevokeUnsupported(OAuthError):
    """The provider publishes no way to revoke (e.g. no `revocation_endpoint`), or there is no
    token to revoke with."""


class UnknownProvider(OAuthError):
    """A provider id that is not in the registry."""


class ProviderNotConfigured(ImproperlyConfigured):
    """A provider was used while its client id / secret (or issuer) is not set."""
