"""Settings the `oauth_accounts` app reads, always at call time (so `override_settings` works).

Only `config/settings.py` reads the environment; these functions read Django settings. Each
default lives here and nowhere else (`config/settings.py` imports
`DEFAULT_REFRESH_EVERY_MINUTES` for its beat schedule). The social-auth settings this app
needs (`SOCIAL_AUTH_URL_NAMESPACE`, `SOCIAL_AUTH_PIPELINE`, `AUTHENTICATION_BACKENDS`) are read
by social-auth itself; `oauth_accounts.checks` says when they are missing or wrong.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

DEFAULT_GITHUB_SCOPES: tuple[str, ...] = ("read:user", "user:email")
DEFAULT_OIDC_SCOPES: tuple[str, ...] = ("openid", "profile", "email")
DEFAULT_OIDC_TITLE = "OpenID Connect"
DEFAULT_REFRESH_MARGIN_SECONDS = 300
DEFAULT_IDLE_REFRESH_DAYS = 30
DEFAULT_REFRESH_MAX_FAILURES = 5
DEFAULT_REFRESH_BACKOFF_SECONDS = 60
DEFAULT_REFRESH_BACKOFF_CAP_SECONDS = 21_600
DEFAULT_LOGIN_WITH_PROVIDER = False
# Longest a refresh (or client-credentials fetch) may hold its lease: above the worst case of
# the resilient client (retries x timeouts), after which another caller may take over.
DEFAULT_REFRESH_LEASE_SECONDS = 180
# Longest a caller waits for another caller's refresh before giving up (or using a token that
# is still valid).
DEFAULT_REFRESH_WAIT_SECONDS = 10
# How often Celery beat runs `oauth_accounts.refresh_due_tokens` (the host's beat schedule).
DEFAULT_REFRESH_EVERY_MINUTES = 5
# The URL namespace `oauth_accounts.urls` declares; SOCIAL_AUTH_URL_NAMESPACE must equal it.
URL_NAMESPACE = "liaison_oauth"

# Every setting this app reads, with its default (the README's table is checked against it).
# A provider is enabled when its client id and secret are set (OIDC also needs the issuer).
DEFAULTS: dict[str, object] = {
    "OAUTH_GOOGLE_CLIENT_ID": "",
    "OAUTH_GOOGLE_CLIENT_SECRET": "",  # nosec B105 - unset by default, not a secret
    "OAUTH_GOOGLE_SCOPES": (),
    "OAUTH_GITHUB_CLIENT_ID": "",
    "OAUTH_GITHUB_CLIENT_SECRET": "",  # nosec B105 - unset by default, not a secret
    "OAUTH_GITHUB_SCOPES": DEFAULT_GITHUB_SCOPES,
    "OAUTH_OIDC_ISSUER": "",
    "OAUTH_OIDC_CLIENT_ID": "",
    "OAUTH_OIDC_CLIENT_SECRET": "",  # nosec B105 - unset by default, not a secret
    "OAUTH_OIDC_SCOPES": DEFAULT_OIDC_SCOPES,
    "OAUTH_OIDC_TITLE": DEFAULT_OIDC_TITLE,
    "OAUTH_REFRESH_MARGIN_SECONDS": DEFAULT_REFRESH_MARGIN_SECONDS,
    "OAUTH_IDLE_REFRESH_DAYS": DEFAULT_IDLE_REFRESH_DAYS,
    "OAUTH_REFRESH_MAX_FAILURES": DEFAULT_REFRESH_MAX_FAILURES,
    "OAUTH_REFRESH_BACKOFF_SECONDS": DEFAULT_REFRESH_BACKOFF_SECONDS,
    "OAUTH_REFRESH_BACKOFF_CAP_SECONDS": DEFAULT_REFRESH_BACKOFF_CAP_SECONDS,
    "OAUTH_REFRESH_EVERY_MINUTES": DEFAULT_REFRESH_EVERY_MINUTES,
    "OAUTH_LOGIN_WITH_PROVIDER": DEFAULT_LOGIN_WITH_PROVIDER,
    "OAUTH_REFRESH_LEASE_SECONDS": DEFAULT_REFRESH_LEASE_SECONDS,
    "OAUTH_REFRESH_WAIT_SECONDS": DEFAULT_REFRESH_WAIT_SECONDS,
    # `prompt` sent to the OIDC provider ("consent" makes spec-strict providers issue a refresh
    # token for offline_access); empty sends none.
    "OAUTH_OIDC_PROMPT": "",
    # Extra authorization-request parameters per provider (merged over Liaison's own).
    "OAUTH_GOOGLE_AUTH_EXTRA_ARGUMENTS": {},
    "OAUTH_GITHUB_AUTH_EXTRA_ARGUMENTS": {},
    "OAUTH_OIDC_AUTH_EXTRA_ARGUMENTS": {},
    "OAUTH_PUBLIC_BASE_URL": "",
    # Read when OAUTH_PUBLIC_BASE_URL is empty (a host's own site-wide setting of that name).
    "PUBLIC_BASE_URL": "",
}


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
    return list(value) if value is not None else list(DEFAULT_GITHUB_SCOPES)


def oidc_issuer() -> str:
    """Issuer URL of the generic OpenID Connect provider, without `/.well-known/...`."""
    return _str("OAUTH_OIDC_ISSUER").rstrip("/")


def oidc_client_id() -> str:
    return _str("OAUTH_OIDC_CLIENT_ID")


def oidc_client_secret() -> str:
    return _str("OAUTH_OIDC_CLIENT_SECRET")


def oidc_scopes() -> list[str]:
    value = getattr(settings, "OAUTH_OIDC_SCOPES", None)
    return list(value) if value is not None else list(DEFAULT_OIDC_SCOPES)


def oidc_title() -> str:
    return _str("OAUTH_OIDC_TITLE") or DEFAULT_OIDC_TITLE


def refresh_margin() -> timedelta:
    """Refresh an access token this long before it expires (default 5 minutes)."""
    return timedelta(
        seconds=int(
            getattr(settings, "OAUTH_REFRESH_MARGIN_SECONDS", DEFAULT_REFRESH_MARGIN_SECONDS)
        )
    )


def idle_refresh_after() -> timedelta:
    """Refresh a refresh token not used for this long, before the provider drops it for disuse
    (Google: 6 months unused). Default 30 days."""
    return timedelta(
        days=int(getattr(settings, "OAUTH_IDLE_REFRESH_DAYS", DEFAULT_IDLE_REFRESH_DAYS))
    )


def refresh_max_failures() -> int:
    """Consecutive failed refreshes after which an account is marked "needs reconnect"."""
    return int(getattr(settings, "OAUTH_REFRESH_MAX_FAILURES", DEFAULT_REFRESH_MAX_FAILURES))


def refresh_backoff_base() -> timedelta:
    return timedelta(
        seconds=int(
            getattr(settings, "OAUTH_REFRESH_BACKOFF_SECONDS", DEFAULT_REFRESH_BACKOFF_SECONDS)
        )
    )


def refresh_backoff_cap() -> timedelta:
    return timedelta(
        seconds=int(
            getattr(
                settings, "OAUTH_REFRESH_BACKOFF_CAP_SECONDS", DEFAULT_REFRESH_BACKOFF_CAP_SECONDS
            )
        )
    )


def login_with_provider_enabled() -> bool:
    """Whether an anonymous visitor may sign in with an already linked provider account."""
    return bool(getattr(settings, "OAUTH_LOGIN_WITH_PROVIDER", DEFAULT_LOGIN_WITH_PROVIDER))


def public_base_url() -> str:
    """Public origin of this site (https://liaison.example.com), for callback URLs printed
    outside a request (`manage.py oauth_providers`)."""
    return (_str("OAUTH_PUBLIC_BASE_URL") or _str("PUBLIC_BASE_URL")).rstrip("/")


def refresh_every_minutes() -> int:
    """Minutes between two runs of the refresh of due tokens (for the beat schedule)."""
    return int(getattr(settings, "OAUTH_REFRESH_EVERY_MINUTES", DEFAULT_REFRESH_EVERY_MINUTES))


def refresh_lease() -> timedelta:
    """How long a refresh may hold its lease before another caller may take over."""
    return timedelta(
        seconds=int(getattr(settings, "OAUTH_REFRESH_LEASE_SECONDS", DEFAULT_REFRESH_LEASE_SECONDS))
    )


def refresh_wait() -> timedelta:
    """How long a caller waits for a refresh another caller is making."""
    return timedelta(
        seconds=float(getattr(settings, "OAUTH_REFRESH_WAIT_SECONDS", DEFAULT_REFRESH_WAIT_SECONDS))
    )


def oidc_prompt() -> str:
    """`prompt` for the OIDC authorization request (space-separated), or "" for none."""
    return _str("OAUTH_OIDC_PROMPT")


def auth_extra_arguments(provider: str) -> dict[str, str]:
    """`OAUTH_<PROVIDER>_AUTH_EXTRA_ARGUMENTS`: extra authorization-request parameters."""
    value = getattr(settings, f"OAUTH_{provider.upper()}_AUTH_EXTRA_ARGUMENTS", None) or {}
    return {str(key): str(item) for key, item in dict(value).items()}


def connections_url() -> str:
    return "/connections/"
