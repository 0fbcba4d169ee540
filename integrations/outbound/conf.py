"""Settings `integrations.outbound` reads, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides. The options of `INTEGRATIONS_SERVICES` / `INTEGRATIONS_HTTP_DEFAULTS`
and their defaults are `integrations.outbound.config.ServiceConfig`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.core.conf import redis_url

__all__ = [
    "DEFAULTS",
    "DEFAULT_METRICS_WINDOW_SECONDS",
    "DEFAULT_REDIS_RETRY_SECONDS",
    "DEFAULT_STATE_PREFIX",
    "integrations_http_defaults",
    "integrations_http_defaults_raw",
    "integrations_metrics_window_seconds",
    "integrations_redis_retry_seconds",
    "integrations_services",
    "integrations_services_raw",
    "integrations_state_prefix",
    "redis_url",
]

DEFAULT_STATE_PREFIX = "liaison:integrations"
DEFAULT_METRICS_WINDOW_SECONDS = 900
DEFAULT_REDIS_RETRY_SECONDS = 10.0

# Every setting this app reads, with its default (the README's table is checked against it).
DEFAULTS: dict[str, object] = {
    # {service: {option: value}}: overrides of the built-in services and additions.
    "INTEGRATIONS_SERVICES": {},
    # {option: value}: below the built-in per-service values, for every service.
    "INTEGRATIONS_HTTP_DEFAULTS": {},
    "INTEGRATIONS_STATE_PREFIX": DEFAULT_STATE_PREFIX,
    "INTEGRATIONS_METRICS_WINDOW_SECONDS": DEFAULT_METRICS_WINDOW_SECONDS,
    "INTEGRATIONS_REDIS_RETRY_SECONDS": DEFAULT_REDIS_RETRY_SECONDS,
}


def integrations_services() -> dict[str, dict[str, Any]]:
    """Per-service overrides and additions: {service: {option: value}} (see config.py)."""
    return dict(integrations_services_raw() or {})


def integrations_services_raw() -> Any:
    """The INTEGRATIONS_SERVICES object itself (identity is used as a cache key)."""
    return getattr(settings, "INTEGRATIONS_SERVICES", None)


def integrations_http_defaults_raw() -> Any:
    """The INTEGRATIONS_HTTP_DEFAULTS object itself (identity is used as a cache key)."""
    return getattr(settings, "INTEGRATIONS_HTTP_DEFAULTS", None)


def integrations_http_defaults() -> dict[str, Any]:
    """Global defaults every service starts from before its own built-in values and overrides."""
    return dict(integrations_http_defaults_raw() or {})


def integrations_state_prefix() -> str:
    """Prefix of the Redis keys holding breaker, limiter and metrics state."""
    value = getattr(settings, "INTEGRATIONS_STATE_PREFIX", DEFAULT_STATE_PREFIX)
    return str(value or DEFAULT_STATE_PREFIX)


def integrations_metrics_window_seconds() -> int:
    """How far back `integrations.outbound.health.snapshot()` looks (rounded to whole minutes)."""
    value = getattr(settings, "INTEGRATIONS_METRICS_WINDOW_SECONDS", DEFAULT_METRICS_WINDOW_SECONDS)
    return int(value or DEFAULT_METRICS_WINDOW_SECONDS)


def integrations_redis_retry_seconds() -> float:
    """After Redis failed, how long to use in-process state before trying Redis again."""
    value = getattr(settings, "INTEGRATIONS_REDIS_RETRY_SECONDS", DEFAULT_REDIS_RETRY_SECONDS)
    return float(value or DEFAULT_REDIS_RETRY_SECONDS)
