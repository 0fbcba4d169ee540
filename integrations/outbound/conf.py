"""Settings `integrations.outbound` reads, always at call time (so `override_settings` works)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.core.conf import redis_url

__all__ = [
    "integrations_http_defaults",
    "integrations_http_defaults_raw",
    "integrations_metrics_window_seconds",
    "integrations_redis_retry_seconds",
    "integrations_services",
    "integrations_services_raw",
    "integrations_state_prefix",
    "redis_url",
]


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
    """How far back `integrations.outbound.health.snapshot()` looks (rounded to whole minutes)."""
    return int(getattr(settings, "INTEGRATIONS_METRICS_WINDOW_SECONDS", 900) or 900)


def integrations_redis_retry_seconds() -> float:
    """After Redis failed, how long to use in-process state before trying Redis again."""
    return float(getattr(settings, "INTEGRATIONS_REDIS_RETRY_SECONDS", 10.0) or 10.0)
