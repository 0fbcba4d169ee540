"""Settings the `integrations` app reads, always at call time (so `override_settings` works)."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def field_encryption_keys() -> tuple[str, ...]:
    return tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def celery_broker_url() -> str:
    return getattr(settings, "CELERY_BROKER_URL", "") or ""


def celery_always_eager() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


# --- outbound calls (integrations.http / integrations.resilience) ---------------------------


def integrations_services() -> dict[str, dict[str, Any]]:
    """Per-service overrides and additions: {service: {option: value}} (see resilience.config)."""
    return dict(getattr(settings, "INTEGRATIONS_SERVICES", None) or {})


def integrations_services_raw() -> Any:
    """The INTEGRATIONS_SERVICES object itself (identity is used as a cache key)."""
    return getattr(settings, "INTEGRATIONS_SERVICES", None)


def integrations_http_defaults_raw() -> Any:
    """The INTEGRATIONS_HTTP_DEFAULTS object itself (identity is used as a cache key)."""
    return getattr(settings, "INTEGRATIONS_HTTP_DEFAULTS", None)


def integrations_http_defaults() -> dict[str, Any]:
    """Global defaults every service starts from before its own built-in values and overrides."""
    return dict(getattr(settings, "INTEGRATIONS_HTTP_DEFAULTS", None) or {})


def integrations_state_prefix() -> str:
    """Prefix of the Redis keys holding breaker, limiter and metrics state."""
    return getattr(settings, "INTEGRATIONS_STATE_PREFIX", "") or "liaison:integrations"


def integrations_metrics_window_seconds() -> int:
    """How far back `integrations.health.snapshot()` looks (rounded to whole minutes)."""
    return int(getattr(settings, "INTEGRATIONS_METRICS_WINDOW_SECONDS", 900) or 900)


def integrations_redis_retry_seconds() -> float:
    """After Redis failed, how long to use in-process state before trying Redis again."""
    return float(getattr(settings, "INTEGRATIONS_REDIS_RETRY_SECONDS", 10.0) or 10.0)


# --- brute-force rate limits (integrations.ratelimits) --------------------------------------


def rate_limit(name: str) -> str | None:
    """The `<count>/<s|m|h|d>` rate of limit `name` (`RATELIMIT_<NAME>`); None switches it off."""
    value = getattr(settings, f"RATELIMIT_{name.upper()}", None)
    return str(value) if value else None
