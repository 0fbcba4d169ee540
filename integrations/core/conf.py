"""Settings `integrations.core` reads, always at call time (so `override_settings` works)."""

from __future__ import annotations

from django.conf import settings


def field_encryption_keys() -> tuple[str, ...]:
    return tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def celery_broker_url() -> str:
    return getattr(settings, "CELERY_BROKER_URL", "") or ""


def celery_always_eager() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


# --- brute-force rate limits (integrations.core.ratelimits) --------------------------------------


def rate_limit(name: str) -> str | None:
    """The `<count>/<s|m|h|d>` rate of limit `name` (`RATELIMIT_<NAME>`); None switches it off."""
    value = getattr(settings, f"RATELIMIT_{name.upper()}", None)
    return str(value) if value else None
