"""Hourly outbound attempts and errors for the last 24 h (the dashboard's chart).

The resilient client keeps per-minute counters only for INTEGRATIONS_METRICS_WINDOW_SECONDS
(15 min by default). `outbound_history_update()` folds every completed minute it has not seen
yet into hourly totals kept in the Django cache (Redis when REDIS_URL is set), so the 24 h
series survives as long as something calls it at least once per metrics window: the periodic
health check task does, and so do the dashboard, the command and `/metrics`. A lock in the
cache keeps two processes from counting the same minutes twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache

from integrations.ops.cache_guard import CACHE_ERRORS, cache_unavailable
from integrations.outbound import conf as outbound_conf
from integrations.outbound.resilience import get_guard
from integrations.outbound.resilience import runtime as runtime_module

MINUTE = 60
HOUR = 3600
HOURS_KEPT = 25
_PREFIX = "integrations:observability:outbound:v1:"
_HOURS_KEY = f"{_PREFIX}hours"
_MARK_KEY = f"{_PREFIX}last-minute"
_LOCK_KEY = f"{_PREFIX}lock"

# {service: {hour start (epoch seconds): [attempts, errors]}}
History = dict[str, dict[int, list[int]]]


def _errors(metrics: dict[str, float]) -> int:
    return int(sum(value for key, value in metrics.items() if key.startswith("err:")))


def _read(service: str, first_minute: int, last_minute: int) -> tuple[int, int]:
    """Attempts and errors in the whole minutes [first_minute, last_minute]."""
    metrics = get_guard(service).backend.read_metrics(
        service,
        last_minute * MINUTE + 0.5,
        (last_minute - first_minute + 1) * MINUTE,
    )
    return int(metrics.get("attempts", 0)), _errors(metrics)


def outbound_history_update(services: Iterable[str]) -> bool:
    """Fold the completed minutes not yet counted into the hourly totals.

    Returns False when another process holds the lock (it is doing the same work) or the
    cache is unreachable (nothing is counted then; the minutes are folded in later if the
    cache returns within the metrics window).
    """
    try:
        return _history_update(services)
    except CACHE_ERRORS as exc:
        cache_unavailable("outbound history", exc)
        return False


def _history_update(services: Iterable[str]) -> bool:
    now = runtime_module.current().clock()
    if not cache.add(_LOCK_KEY, 1, timeout=30):
        return False
    try:
        current = int(now // MINUTE)
        last_done = current - 1
        retained = outbound_conf.integrations_metrics_window_seconds() // MINUTE
        marker = cache.get(_MARK_KEY)
        start = current - retained if marker is None else max(int(marker) + 1, current - retained)
        if start > last_done:
            return True
        history: History = cache.get(_HOURS_KEY) or {}
        chunk_start = start
        while chunk_start <= last_done:
            hour = (chunk_start * MINUTE) // HOUR * HOUR
            chunk_end = min(last_done, (hour + HOUR) // MINUTE - 1)
            for service in services:
                attempts, errors = _read(service, chunk_start, chunk_end)
                if attempts or errors:
                    row = history.setdefault(service, {}).setdefault(hour, [0, 0])
                    row[0] += attempts
                    row[1] += errors
            chunk_start = chunk_end + 1
        oldest = (current * MINUTE) // HOUR * HOUR - (HOURS_KEPT - 1) * HOUR
        history = {
            service: {hour: row for hour, row in hours.items() if hour >= oldest}
            for service, hours in history.items()
        }
        cache.set(_HOURS_KEY, history, timeout=HOURS_KEPT * HOUR)
        cache.set(_MARK_KEY, last_done, timeout=HOURS_KEPT * HOUR)
        return True
    finally:
        cache.delete(_LOCK_KEY)


def outbound_errors_by_hour(services: Iterable[str], *, hours: int = 24) -> list[int]:
    """Outbound errors (all services) per hour, oldest first; the last entry is the current
    hour, including the minute in progress."""
    names = list(services)
    now = runtime_module.current().clock()
    current_hour = int(now // HOUR * HOUR)
    try:
        history: History = cache.get(_HOURS_KEY) or {}
        marker = cache.get(_MARK_KEY)
    except CACHE_ERRORS as exc:
        cache_unavailable("outbound history", exc)
        history, marker = {}, None
    series = [0] * hours
    for service in names:
        for hour, (_attempts, errors) in history.get(service, {}).items():
            index = hours - 1 - (current_hour - int(hour)) // HOUR
            if 0 <= index < hours:
                series[index] += errors
    current_minute = int(now // MINUTE)
    first_uncounted = current_minute if marker is None else int(marker) + 1
    first_uncounted = max(first_uncounted, current_hour // MINUTE)
    if first_uncounted <= current_minute:
        for service in names:
            series[-1] += _read(service, first_uncounted, current_minute)[1]
    return series


def outbound_history_clear() -> None:
    cache.delete_many([_HOURS_KEY, _MARK_KEY, _LOCK_KEY])
