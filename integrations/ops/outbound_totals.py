"""Monotonic outbound totals for `/metrics`: attempts by outcome and a latency histogram.

`outbound_attempt_observe` is called once per attempt by the resilient client (registered as
a listener of `integrations.outbound.guard`, so outbound does not import ops). Counts go to
the Django cache — Redis when REDIS_URL is set, shared by every web and worker process, else
this process only (as the breaker and limiter state) — with atomic `incr`; a scrape reads
them with one `get_many`. A cache outage loses counts, never fails a call.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from integrations.ops.cache_guard import CACHE_ERRORS, cache_unavailable

_PREFIX = "integrations:ops:outbound-total:v1:"
OUTCOMES = ("ok", "error", "failure")
# Seconds; Prometheus' default buckets stretched to the outbound timeouts.
BOUNDS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_NO_EXPIRY = None


def _key(service: str, name: str) -> str:
    return f"{_PREFIX}{service}:{name}"


def _bucket(seconds: float) -> str:
    for bound in BOUNDS:
        if seconds <= bound:
            return f"{bound:g}"
    return "+Inf"


def _incr(key: str, delta: int) -> None:
    try:
        cache.incr(key, delta)
    except ValueError:  # not there yet: create it, then count (add is atomic)
        if not cache.add(key, delta, timeout=_NO_EXPIRY):
            cache.incr(key, delta)


def outbound_attempt_observe(
    *, service: str, error: BaseException | None, failure: bool, duration: float
) -> None:
    """Count one attempt (never raises)."""
    outcome = "ok" if error is None else ("failure" if failure else "error")
    try:
        _incr(_key(service, f"outcome:{outcome}"), 1)
        _incr(_key(service, f"le:{_bucket(duration)}"), 1)
        _incr(_key(service, "us_sum"), max(0, round(duration * 1_000_000)))
    except CACHE_ERRORS as exc:
        cache_unavailable("outbound totals", exc)


@dataclass(frozen=True)
class OutboundTotals:
    outcomes: dict[str, int]
    buckets: dict[str, int]
    seconds_sum: float
    bounds: tuple[float, ...] = BOUNDS


def outbound_totals() -> dict[str, OutboundTotals]:
    """{service: totals} for every known service (one cache round trip)."""
    from integrations.outbound.config import known_services

    services = list(known_services())
    labels = [f"{bound:g}" for bound in BOUNDS] + ["+Inf"]
    keys = [
        _key(service, name)
        for service in services
        for name in (
            *(f"outcome:{o}" for o in OUTCOMES),
            *(f"le:{label}" for label in labels),
            "us_sum",
        )
    ]
    try:
        values = cache.get_many(keys)
    except CACHE_ERRORS as exc:
        cache_unavailable("outbound totals", exc)
        values = {}
    result = {}
    for service in services:
        result[service] = OutboundTotals(
            outcomes={o: int(values.get(_key(service, f"outcome:{o}"), 0)) for o in OUTCOMES},
            buckets={label: int(values.get(_key(service, f"le:{label}"), 0)) for label in labels},
            seconds_sum=int(values.get(_key(service, "us_sum"), 0)) / 1e6,
        )
    return result


def outbound_totals_clear() -> None:
    """Forget the totals (tests)."""
    from integrations.outbound.config import known_services

    try:
        cache.delete_many(
            [
                _key(service, name)
                for service in known_services()
                for name in (
                    *(f"outcome:{o}" for o in OUTCOMES),
                    *(f"le:{bound:g}" for bound in BOUNDS),
                    "le:+Inf",
                    "us_sum",
                )
            ]
        )
    except CACHE_ERRORS as exc:
        cache_unavailable("outbound totals", exc)
