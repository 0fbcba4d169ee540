"""When to retry and how long to wait: one place, shared by the client and `guarded_call`.

Backoff is exponential with full jitter (a uniform draw in [0, min(cap, base * 2^(n-1))]), the
scheme AWS's "Exponential Backoff And Jitter" analysis found to spread retries best.
`Retry-After` is read in both forms RFC 9110 allows (delay-seconds and HTTP-date); providers
that only send a reset time (`X-RateLimit-Reset`, epoch seconds: SendGrid, GitHub) are read too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from integrations.core.exceptions import IntegrationError, ServiceUnavailable

# Methods that may be repeated without changing the result (RFC 9110 §9.2.2). POST and PATCH
# are retried only with an idempotency key.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


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
