"""Health of the outbound services, for the ops dashboard: `snapshot()`.

Reads the metrics the outbound layer records per attempt (per-minute counters in Redis, or in
this process without REDIS_URL) over the last INTEGRATIONS_METRICS_WINDOW_SECONDS, plus the
live breaker and limiter state. Reading is a handful of Redis round trips per service; nothing
is written.

Without REDIS_URL breaker state is per process. A process that has not called a service (a
shell running `integrations_health`) reports the latest transition any process recorded in
the database (`journal.py`) and says so in `breaker["note"]`, instead of a closed breaker it
knows nothing about.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from integrations.outbound import conf, journal, rules
from integrations.outbound import runtime as runtime_module
from integrations.outbound.config import known_services, service_config
from integrations.outbound.guard import get_guard
from integrations.outbound.metrics import LATENCY_BUCKETS_MS


def snapshot(services: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """One entry per service (default: every known service):

    `calls` (logical calls), `attempts`, `successes`, `errors` ({error class: count}),
    `error_rate` (errors / attempts), `retries`, `latency_ms` ({"p50", "p95"} from the
    histogram's bucket bounds, None without data), `breaker` ({"state", "retry_at" ISO time when
    open, "fail_counter", "trips" (all time), "rejected" (calls failed fast in the window),
    "scope" ("shared" through Redis, or "process"), "note" (where a per-process state comes
    from; "" when shared)}),
    `rate_limit` ({"capacity", "refill_rate", "tokens_available", "utilization" (admitted /
    allowed over the window), "waits", "wait_seconds", "rejected", "pauses",
    "paused_until"}), `window_seconds`, `backend` ("redis", "memory" or "memory-fallback").
    """
    rt = runtime_module.current()
    now = rt.clock()
    window = conf.integrations_metrics_window_seconds()
    return {
        name: _service_snapshot(name, now, window)
        for name in (services if services is not None else known_services())
    }


def _service_snapshot(name: str, now: float, window: int) -> dict[str, Any]:
    cfg = service_config(name)
    guard = get_guard(name)
    backend = guard.backend
    metrics = backend.read_metrics(name, now, window)
    breaker, scope, note = _breaker_status(name, backend.kind, backend.breaker_status(name))
    state, opened_at = breaker.state, breaker.opened_at
    tokens, paused_until = backend.limiter_status(cfg, now)
    attempts = int(metrics.get("attempts", 0))
    errors = {
        key.split(":", 1)[1]: int(value)
        for key, value in metrics.items()
        if key.startswith("err:") and value
    }
    retry_at = None
    if state == rules.OPEN and opened_at:
        retry_at = _iso(opened_at + cfg.breaker_reset_timeout)
    admitted = metrics.get("admitted", 0)
    allowed = cfg.limiter_capacity + cfg.limiter_refill_rate * window
    return {
        "calls": int(metrics.get("calls", 0)),
        "attempts": attempts,
        "successes": int(metrics.get("ok", 0)),
        "errors": errors,
        "error_rate": round(sum(errors.values()) / attempts, 4) if attempts else 0.0,
        "retries": int(metrics.get("retries", 0)),
        "latency_ms": {
            "p50": _percentile(metrics, 0.50),
            "p95": _percentile(metrics, 0.95),
            "mean": round(metrics.get("latency_us_sum", 0) / attempts / 1000.0, 3)
            if attempts
            else None,
        },
        "breaker": {
            "state": state,
            "retry_at": retry_at,
            "fail_counter": breaker.fail_counter,
            "trips": breaker.trips,
            "rejected": int(metrics.get("rejected_open", 0)),
            "scope": scope,
            "note": note,
        },
        "rate_limit": {
            "capacity": cfg.limiter_capacity,
            "refill_rate": cfg.limiter_refill_rate,
            "tokens_available": round(tokens, 2),
            "utilization": round(admitted / allowed, 4) if allowed else 0.0,
            "waits": int(metrics.get("rl_waits", 0)),
            "wait_seconds": round(metrics.get("rl_wait_ms", 0) / 1000.0, 3),
            "rejected": int(metrics.get("rl_rejected", 0)),
            "pauses": int(metrics.get("rl_pauses", 0)),
            "paused_until": _iso(paused_until) if paused_until > now else None,
        },
        "window_seconds": window,
        "backend": backend.kind,
    }


def _breaker_status(
    name: str, kind: str, status: rules.BreakerStatus | None
) -> tuple[rules.BreakerStatus, str, str]:
    """The breaker to report, its scope, and a note saying where a per-process state is from."""
    if kind == "redis":
        return status or rules.BreakerStatus(rules.CLOSED, 0.0, 0, 0), "shared", ""
    if status is not None:
        return status, "process", "state is per process: this process's breaker"
    recorded = journal.breaker_transition_latest(name)
    if recorded is None:
        note = (
            f"state is per process; this process has not called {name} and no process has "
            "recorded a transition"
        )
        return rules.BreakerStatus(rules.CLOSED, 0.0, 0, 0), "process", note
    note = (
        f"state is per process; this process has not called {name}: latest transition "
        f"{recorded.from_state} → {recorded.to_state} recorded by process {recorded.process} "
        f"at {recorded.changed_at.isoformat(timespec='seconds')}"
    )
    status = rules.BreakerStatus(recorded.to_state, recorded.opened_at, 0, recorded.trips)
    return status, "process", note


def _percentile(metrics: dict[str, float], quantile: float) -> float | None:
    """Upper bound of the histogram bucket holding the quantile (None without data; the
    open-ended last bucket reports its lower bound)."""
    counts = [(bound, metrics.get(f"lat:{bound}", 0)) for bound in LATENCY_BUCKETS_MS]
    overflow = metrics.get("lat:inf", 0)
    total = sum(count for _, count in counts) + overflow
    if not total:
        return None
    rank = quantile * total
    seen = 0.0
    for bound, count in counts:
        seen += count
        if seen >= rank:
            return float(bound)
    return float(LATENCY_BUCKETS_MS[-1])


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
