"""When to retry and how long to wait: one place (`should_retry`, `sleep_time_seconds`).

Backoff is exponential with full jitter (a uniform draw in [0, min(cap, base * 2^(n-1))]), the
scheme AWS's "Exponential Backoff And Jitter" analysis found to spread retries best. A
provider's own wait wins over the schedule, up to `retry_after_max`; a longer one is not
waited for (the error is raised at once, carrying when to come back).
`Retry-After` is read in both forms RFC 9110 allows (delay-seconds and HTTP-date); providers
that only send a reset time (`X-RateLimit-Reset`, epoch seconds: SendGrid, GitHub) are read too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from integrations.core.exceptions import IntegrationError, ServiceUnavailable
from integrations.outbound.config import ServiceConfig

# Methods that may be repeated without changing the result (RFC 9110 §9.2.2). POST and PATCH
# are retried only with an idempotency key.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


def should_retry(
    error: IntegrationError | None,
    *,
    cfg: ServiceConfig,
    attempt: int,
    may_retry: bool,
    server_wait: float | None,
) -> bool:
    """The one decision whether attempt number `attempt` is followed by another.

    Only a retryable error (connection error, timeout, 5xx, 429; never an open breaker) of a
    request that may be repeated (idempotent method, or an idempotency key), while retries are
    left, and when the provider asked for no longer a wait than `retry_after_max`.
    """
    if error is None or not may_retry or attempt > cfg.retries or not is_retryable(error):
        return False
    return server_wait is None or server_wait <= cfg.retry_after_max


def sleep_time_seconds(
    cfg: ServiceConfig,
    *,
    attempt: int,
    server_wait: float | None,
    uniform: Callable[[float, float], float],
) -> float:
    """Seconds before the attempt after `attempt`: the provider's wait when it gave one
    (`should_retry` caps it), else capped exponential backoff with full jitter."""
    if server_wait is not None:
        return min(server_wait, cfg.retry_after_max)
    return backoff_delay(attempt, base=cfg.backoff_base, cap=cfg.backoff_cap, uniform=uniform)


def backoff_delay(
    retry_number: int,
    *,
    base: float,
    cap: float,
    uniform: Callable[[float, float], float],
) -> float:
    """The wait before retry number `retry_number` (1 for the first retry)."""
    ceiling = min(cap, base * (2 ** (retry_number - 1)))
    return uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value, or None when absent or unreadable.

    `now` is wall-clock seconds (for the HTTP-date form). A date in the past means 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    seconds = _float_or_none(value)
    if seconds is not None:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a zone-less value is not one
    return max(0.0, when.timestamp() - now)


def _float_or_none(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def parse_rate_limit_reset(value: str | None, *, now: float) -> float | None:
    """Seconds until an `X-RateLimit-Reset` epoch timestamp, when it is a plausible one."""
    if not value or not value.strip().isdigit():
        return None
    reset = float(value.strip())
    if now - 1 <= reset <= now + 24 * 3600:
        return max(0.0, reset - now)
    return None


def server_wait(headers: Mapping[str, str], *, now: float) -> float | None:
    """How long the provider asked us to wait, from its response headers."""
    wait = parse_retry_after(headers.get("Retry-After"), now=now)
    if wait is None:
        wait = parse_rate_limit_reset(headers.get("X-RateLimit-Reset"), now=now)
    return wait


def is_retryable(error: IntegrationError) -> bool:
    """Connection errors, timeouts, 5xx and 429 are worth another attempt; an open breaker is
    not (it would only fail fast again), nor is any other 4xx."""
    return error.retryable and not isinstance(error, ServiceUnavailable)
