"""Reads behind the health dashboard, the command, the metrics and the alerts.

`health_report()` returns one JSON-serialisable dict:

- `services`: one row per outbound service (from `integrations.outbound.health.snapshot()`): calls,
  attempts, success rate, error rate, errors by class, p50/p95 latency, breaker state and when
  it retries, rate-limit utilisation and waits, over the last `window_seconds`.
- `endpoints`: one row per webhook endpoint: deliveries (24 h and all time), events by status,
  processing lag (age of the oldest pending event), verification failures (this hour, the
  previous hour, 24 h), processing time (received → processed) over the last hour.
- `oauth`: accounts needing reconnect (the 50 most recent), and per provider the accounts by
  status, the ones whose refresh is failing and the ones refreshed in the last hour.
- `series`: 24 hourly points (oldest first) of webhook deliveries, verification failures and
  outbound errors.

The webhook and OAuth sections come from those apps through `integrations.ops.registry`
(empty when the app is not installed), so `integrations.ops` does not import them. Each section is
a handful of aggregate queries; nothing is cached, so a reload always shows the current state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from integrations.ops.history import outbound_errors_by_hour, outbound_history_update
from integrations.ops.registry import health_section
from integrations.outbound import conf as outbound_conf
from integrations.outbound.health import snapshot

HOURS = 24


def health_report() -> dict[str, Any]:
    now = timezone.now()
    services = outbound_service_rows()
    names = [row["name"] for row in services]
    outbound_history_update(names)
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1 - i)
        for i in range(HOURS)
    ]
    deliveries, failures = webhook_series(hours)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "window_seconds": outbound_conf.integrations_metrics_window_seconds(),
        "services": services,
        "endpoints": webhook_endpoint_rows(now=now),
        "oauth": oauth_account_summary(now=now),
        "series": {
            "hours": [hour.isoformat(timespec="minutes") for hour in hours],
            "webhook_deliveries": deliveries,
            "verification_failures": failures,
            "outbound_errors": outbound_errors_by_hour(names, hours=HOURS),
        },
    }


def outbound_service_rows() -> list[dict[str, Any]]:
    rows = []
    for name, data in sorted(snapshot().items()):
        attempts = data["attempts"]
        breaker = data["breaker"]
        limiter = data["rate_limit"]
        rows.append(
            {
                "name": name,
                "calls": data["calls"],
                "attempts": attempts,
                "successes": data["successes"],
                "errors_total": sum(data["errors"].values()),
                "errors": data["errors"],
                "error_rate": data["error_rate"],
                "success_rate": round(data["successes"] / attempts, 4) if attempts else None,
                "retries": data["retries"],
                "latency_p50_ms": data["latency_ms"]["p50"],
                "latency_p95_ms": data["latency_ms"]["p95"],
                "breaker_state": breaker["state"],
                "breaker_retry_at": breaker["retry_at"],
                "breaker_trips": breaker["trips"],
                "breaker_rejected": breaker["rejected"],
                "rate_limit_utilization": limiter["utilization"],
                "rate_limit_waits": limiter["waits"],
                "rate_limit_wait_seconds": limiter["wait_seconds"],
                "rate_limit_rejected": limiter["rejected"],
                "rate_limit_paused_until": limiter["paused_until"],
                "backend": data["backend"],
            }
        )
    return rows


def webhook_endpoint_rows(*, now: datetime) -> list[dict[str, Any]]:
    section = health_section("webhook_endpoints")
    return list(section(now)) if section else []


def webhook_series(hours: list[datetime]) -> tuple[list[int], list[int]]:
    section = health_section("webhook_series")
    if section is None:
        return [0] * len(hours), [0] * len(hours)
    deliveries, failures = section(hours)
    return list(deliveries), list(failures)


def oauth_account_summary(*, now: datetime) -> dict[str, Any]:
    section = health_section("oauth_accounts")
    if section is None:
        return {"needs_reconnect": [], "needs_reconnect_total": 0, "providers": {}}
    return dict(section(now))
