"""Settings `integrations.core` reads, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides. The README's "Settings reference" lists every one.
"""

from __future__ import annotations

from django.conf import settings

# Brute-force limits, "<count>/<s|m|h|d>" per `RATELIMIT_<NAME>`; an empty value switches a
# limit off. Keys are the limit names `integrations.core.ratelimits` counts under.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "login": "10/m",
    "login_username": "30/h",
    "login_username_global": "300/h",
    "password_reset": "20/h",  # nosec B105 - a rate, not a password
    "password_reset_email": "5/h",  # nosec B105 - a rate, not a password
    "connect": "20/m",
    "api_anon": "60/m",
    "api_user": "600/m",
}

# Every setting this app reads, with its default (the README's table is checked against it).
DEFAULTS: dict[str, object] = {
    # No default key: data encrypted under a throw-away key would be lost on restart.
    "FIELD_ENCRYPTION_KEYS": (),
    "REDIS_URL": "",
    **{f"RATELIMIT_{name.upper()}": rate for name, rate in DEFAULT_RATE_LIMITS.items()},
    "LIAISON_PREPARED_STATEMENTS": True,
}


def field_encryption_keys() -> tuple[str, ...]:
    """Fernet keys: the first encrypts, every one decrypts (checked by `liaison_core.E00x`)."""
    return tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())


def redis_url() -> str:
    """Redis holding state every process shares (breakers, limiters, locks); '' in-process."""
    return str(getattr(settings, "REDIS_URL", "") or "")


def celery_broker_url() -> str:
    """Celery's own setting (no Liaison default): '' when no broker is configured."""
    return str(getattr(settings, "CELERY_BROKER_URL", "") or "")


def prepared_statements() -> bool:
    """Whether the hot statements (`integrations.core.db.fetchall_prepared`) are prepared on
    PostgreSQL; False behind a transaction-pooling PgBouncer older than 1.21."""
    return bool(getattr(settings, "LIAISON_PREPARED_STATEMENTS", True))


def celery_always_eager() -> bool:
    """Celery's own setting (no Liaison default): tasks run in the calling process."""
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


# --- brute-force rate limits (integrations.core.ratelimits) --------------------------------------


def rate_limit_setting(name: str) -> str:
    """The setting that holds the rate of limit `name`."""
    return f"RATELIMIT_{name.upper()}"


def rate_limit(name: str) -> str | None:
    """The `<count>/<s|m|h|d>` rate of limit `name` (`RATELIMIT_<NAME>`); None switches it off."""
    value = getattr(settings, rate_limit_setting(name), DEFAULT_RATE_LIMITS.get(name))
    return str(value) if value else None
