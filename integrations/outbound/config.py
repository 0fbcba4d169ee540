"""Per-service configuration of the outbound layer, read from settings at call time.

A service is known when it is built in (`BUILTIN_SERVICES`) or declared in the
`INTEGRATIONS_SERVICES` setting; any other name raises `UnknownServiceError` (a typo must not
silently get a fresh breaker, budget and metrics series). A declared service without a
`base_url` accepts absolute URLs only; every URL must be https, or http on a loopback host.

Option names (all optional in overrides; see `ServiceConfig`):
base_url, connect_timeout, read_timeout, retries, backoff_base, backoff_cap, retry_after_max,
idempotency_header, request_id_headers, breaker_fail_max, breaker_reset_timeout,
breaker_success_threshold, breaker_window, breaker_min_calls, breaker_failure_rate,
limiter_capacity, limiter_refill_rate, limiter_max_wait.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import Any

from integrations.core.exceptions import IntegrationConfigurationError, UnknownServiceError
from integrations.outbound import conf
from integrations.outbound.urls import check_base_url

# Provider-published limits, where there are any:
# - Stripe: 100 read + 100 write operations/s in live mode, 25 in test mode
#   (https://docs.stripe.com/rate-limits). One bucket of 100/s for both keeps us under either.
# - SendGrid: no fixed Mail Send figure is published; limits come back in X-RateLimit-* headers
#   and a 429 (https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits).
# - GitHub: 5,000 requests/h per user token and a secondary limit of 900 points/min
#   (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api); 15/s
#   stays under the secondary limit for the whole installation.
# - Google / generic OIDC token endpoints publish no per-client figure: a modest 10/s.
BUILTIN_SERVICES: dict[str, dict[str, Any]] = {
    "stripe": {
        "base_url": "https://api.stripe.com",
        "read_timeout": 80.0,
        "request_id_headers": ("Request-Id",),
        "limiter_capacity": 100.0,
        "limiter_refill_rate": 100.0,
    },
    "sendgrid": {
        "base_url": "https://api.sendgrid.com",
        "request_id_headers": ("X-Message-Id", "X-Request-Id"),
        "limiter_capacity": 100.0,
        "limiter_refill_rate": 100.0,
    },
    "google": {"limiter_capacity": 20.0, "limiter_refill_rate": 10.0},
    "github": {
        "base_url": "https://api.github.com",
        "request_id_headers": ("X-GitHub-Request-Id",),
        "limiter_capacity": 30.0,
        "limiter_refill_rate": 15.0,
    },
    "oidc": {"limiter_capacity": 20.0, "limiter_refill_rate": 10.0},
    # AWS SNS signing certificates and SubscribeURL confirmations (absolute URLs, allow-listed
    # by `webhooks.providers.sns_certificates` before any call).
    "aws_sns": {"limiter_capacity": 20.0, "limiter_refill_rate": 10.0, "read_timeout": 10.0},
}


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the client, breaker and limiter need to know about one service.

    - `base_url`: joined to relative URLs; https, or http on a loopback host. Empty: absolute
      URLs only.
    - `retries`: retries after the first attempt (idempotent methods, or with an idempotency
      key). The n-th retry waits a uniform draw in
      [0, min(`backoff_cap`, `backoff_base` * 2^(n-1))]; a `Retry-After` up to
      `retry_after_max` is waited for, a longer one is raised at once.
    - `breaker_fail_max` consecutive failures (transport errors, timeouts, 5xx) open the
      breaker, and so does a share of at least `breaker_failure_rate` failures among the last
      `breaker_window` outcomes once `breaker_min_calls` were seen; after
      `breaker_reset_timeout` seconds `breaker_success_threshold` successful half-open probes
      close it again.
    - Token bucket: a burst of `limiter_capacity` calls, then `limiter_refill_rate` per
      second; a caller waits at most `limiter_max_wait` seconds for a token before
      `RateLimitExceeded`.
    """

    name: str
    base_url: str = ""
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    retries: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    retry_after_max: float = 60.0
    idempotency_header: str = "Idempotency-Key"
    request_id_headers: tuple[str, ...] = ("Request-Id", "X-Request-Id")
    breaker_fail_max: int = 5
    breaker_reset_timeout: float = 30.0
    breaker_success_threshold: int = 1
    breaker_window: int = 20
    breaker_min_calls: int = 10
    breaker_failure_rate: float = 0.5
    limiter_capacity: float = 20.0
    limiter_refill_rate: float = 10.0
    limiter_max_wait: float = 5.0

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def breaker_probe_lease(self) -> float:
        """How long a half-open breaker waits for its probe's outcome before it presumes the
        probe lost (its process died) and admits another: the reset timeout, and never less
        than one attempt can take."""
        return max(self.breaker_reset_timeout, self.connect_timeout + self.read_timeout)


_OPTION_TYPES: dict[str, Any] = {f.name: f.type for f in fields(ServiceConfig) if f.name != "name"}
_CACHE: dict[str, tuple[object, object, ServiceConfig]] = {}
_CACHE_LOCK = threading.Lock()


def known_services() -> list[str]:
    return sorted({*BUILTIN_SERVICES, *conf.integrations_services()})


def service_config(name: str) -> ServiceConfig:
    """The configuration of `name` as the settings say right now.

    Cached per settings object identity, so it is cheap on the hot path and still follows
    `override_settings` (which swaps the objects).
    """
    services = conf.integrations_services_raw()
    defaults = conf.integrations_http_defaults_raw()
    cached = _CACHE.get(name)
    if cached is not None and cached[0] is services and cached[1] is defaults:
        return cached[2]
    config = _build(name, services or {}, defaults or {})
    with _CACHE_LOCK:
        _CACHE[name] = (services, defaults, config)
    return config


def _build(name: str, services: dict[str, Any], defaults: dict[str, Any]) -> ServiceConfig:
    if name not in BUILTIN_SERVICES and name not in services:
        raise UnknownServiceError(
            f"Unknown outbound service {name!r}: declare it in the INTEGRATIONS_SERVICES setting "
            f"(e.g. INTEGRATIONS_SERVICES = {{{name!r}: {{'base_url': 'https://…'}}}}). "
            f"Known: {', '.join(known_services())}."
        )
    values: dict[str, Any] = {}
    for origin, layer in (
        ("INTEGRATIONS_HTTP_DEFAULTS", defaults),
        (None, BUILTIN_SERVICES.get(name, {})),
        (f"INTEGRATIONS_SERVICES[{name!r}]", services.get(name) or {}),
    ):
        for key, value in layer.items():
            if key not in _OPTION_TYPES:
                raise IntegrationConfigurationError(
                    f"{origin}: unknown option {key!r}; valid options: "
                    f"{', '.join(sorted(_OPTION_TYPES))}."
                )
            values[key] = _coerce(origin or "built-in", key, value)
    config = ServiceConfig(name=name, **values)
    if config.base_url:
        check_base_url(config.base_url, setting=f"INTEGRATIONS_SERVICES[{name!r}]['base_url']")
    if config.limiter_refill_rate <= 0 or config.limiter_capacity < 1:
        raise IntegrationConfigurationError(
            f"INTEGRATIONS_SERVICES[{name!r}]: limiter_capacity must be >= 1 and "
            "limiter_refill_rate > 0."
        )
    return config


def _coerce(origin: str, key: str, value: Any) -> Any:
    kind = _OPTION_TYPES[key]
    try:
        if kind == "float":
            return float(value)
        if kind == "int":
            return int(value)
        if kind == "str":
            return str(value)
        return tuple(str(item) for item in value)
    except (TypeError, ValueError) as exc:
        raise IntegrationConfigurationError(
            f"{origin}[{key!r}]: {value!r} is not a valid {kind}."
        ) from exc
