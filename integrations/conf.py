"""Settings the `integrations` app reads, always at call time (so `override_settings` works)."""

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
