"""Settings the `oauth_accounts` app reads, always at call time (so `override_settings` works).

Only `config/settings.py` reads the environment; these functions read Django settings.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def _str(name: str) -> str:
    return str(getattr(settings, name, "") or "").strip()


def google_client_id() -> str:
    return _str("OAUTH_GOOGLE_CLIENT_ID")


def google_client_secret() -> str:
    return _str("OAUTH_GOOGLE_CLIENT_SECRET")


def google_scopes() -> list[str]:
    """Scopes asked of Google on top of `openid email profile`."""
    return list(getattr(settings, "OAUTH_GOOGLE_SCOPES", None) or [])


def github_client_id() -> str:
    return _str("OAUTH_GITHUB_CLIENT_ID")


def github_client_secret() -> str:
    return _str("OAUTH_GITHUB_CLIENT_SECRET")


def github_scopes() -> list[str]:
    """OAuth App scopes (a GitHub App ignores them and uses its permissions)."""
    value = getattr(settings, "OAUTH_GITHUB_SCOPES", None)
    return list(value) if value is not None else ["read:user", "user:email"]


def oidc_issuer() -> str:
    """Issuer URL of the generic OpenID Connect provider, without `/.well-known/...`."""
    return _str("OAUTH_OIDC_ISSUER").rstrip("/")


def oidc_client_id() -> str:
    return _str("OAUTH_OIDC_CLIENT_ID")


def oidc_client_secret() -> str:
    return _str("OAUTH_OIDC_CLIENT_SECRET")


def oidc_scopes() -> list[str]:
    value = getattr(settings, "OAUTH_OIDC_SCOPES", None)
    return list(value) if value is not None else ["openid", "profile", "email"]


def oidc_title() -> str:
    return _str("OAUTH_OIDC_TITLE") or "OpenID Connect"


def refresh_margin() -> timedelta:
    """Refresh an access token this long before it expires (default 5 minutes)."""
    return timedelta(seconds=int(getattr(settings, "OAUTH_REFRESH_MARGIN_SECONDS", 300)))


def idle_refresh_after() -> timedelta:
    """Refresh a refresh token not used for this long, before the provider drops it for disuse
    (Google: 6 months unused). Default 30 days."""
    return timedelta(days=int(getattr(settings, "OAUTH_IDLE_REFRESH_DAYS", 30)))


def refresh_max_failures() -> int:
    """Consecutive failed refreshes after which an account is marked "needs reconnect"."""
    return int(getattr(settings, "OAUTH_REFRESH_MAX_FAILURES", 5))


def refresh_backoff_base() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "OAUTH_REFRESH_BACKOFF_SECONDS", 60)))


def refresh_backoff_cap() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "OAUTH_REFRESH_BACKOFF_CAP_SECONDS", 21_600)))


def login_with_provider_enabled() -> bool:
    """Whether an anonymous visitor may sign in with an already linked provider account."""
    return bool(getattr(settings, "OAUTH_LOGIN_WITH_PROVIDER", False))


def public_base_url() -> str:
    """Public origin of this site (https://liaison.example.com), for callback URLs printed
    outside a request (`manage.py oauth_providers`)."""
    return (_str("OAUTH_PUBLIC_BASE_URL") or _str("PUBLIC_BASE_URL")).rstrip("/")


def connections_url() -> str:
    return "/connections/"
