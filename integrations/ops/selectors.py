"""Reads behind the health dashboard, the command, the metrics and the alerts.

`health_report()` returns one `integrations.ops.report.HealthReport` (frozen dataclasses;
`as_dict()` is its JSON shape):

- `services`: one row per outbound service (from `integrations.outbound.health.snapshot()`): calls,
  attempts, success rate, error rate, errors by class, p50/p95 latency, breaker state and when
  it retries, rate-limit utilisation and waits, over the last `window_seconds`.
- `endpoints`: one row per webhook endpoint: deliveries (24 h and all time), events by status,
  processing lag (age of the oldest pending event), verification failures (this hour, the
  previous hour, 24 h), processing time (received → processed) over the last hour.
- `oauth`: accounts needing reconnect (the 50 most recent), and per provider the accounts by
  status, the ones whose refresh is failing and the ones refreshed in the last hour.
- `outbox`: rows pending, sending and dead, in all and per action, and the lag of the oldest
  due row (None when `integrations.outbox` is not installed).
- `series`: 24 hourly points (oldest first) of webhook deliveries, verification failures and
  outbound errors.

The webhook, OAuth and outbox sections come from those apps through `integrations.ops.registry`
(empty when the app is not installed), so `integrations.ops` does not import them. Each section
reads counters and rollups (a few small queries whatever the size of the event log); nothing
is written — the outbound hourly history and the alert state are recorded by
`services.health_check(sync=True)` (beat and `manage.py integrations_health`), never by a GET.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from integrations.ops.history import outbound_errors_by_hour
from integrations.ops.registry import health_section
from integrations.ops.report import (
    EndpointHealth,
    HealthReport,
    HealthSeries,
    OAuthHealth,
    OutboxHealth,
    ServiceHealth,
)
from integrations.outbound import conf as outbound_conf
from integrations.outbound.health import snapshot

HOURS = 24


def health_report() -> HealthReport:
    now = timezone.now()
    services = outbound_service_rows()
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1 - i)
        for i in range(HOURS)
    ]
    deliveries, failures = webhook_series(hours)
    return HealthReport(
        generated_at=now.isoformat(timespec="seconds"),
        window_seconds=outbound_conf.integrations_metrics_window_seconds(),
        services=services,
        endpoints=webhook_endpoint_rows(now=now),
        oauth=oauth_account_summary(now=now),
        outbox=outbox_summary(now=now),
        series=HealthSeries(
            hours=tuple(hour.isoformat(timespec="minutes") for hour in hours),
            webhook_deliveries=tuple(deliveries),
            verification_failures=tuple(failures),
            outbound_errors=tuple(
                outbound_errors_by_hour([row.name for row in services], hours=HOURS)
            ),
        ),
    )


def outbound_service_rows() -> tuple[ServiceHealth, ...]:
    return tuple(
        ServiceHealth.from_snapshot(name, data) for name, data in sorted(snapshot().items())
    )


def webhook_endpoint_rows(*, now: datetime) -> tuple[EndpointHealth, ...]:
    section = health_section("webhook_endpoints")
    return tuple(EndpointHealth.from_row(row) for row in section(now)) if section else ()


def webhook_series(hours: list[datetime]) -> tuple[list[int], list[int]]:
    section = health_section("webhook_series")
    if section is None:
        return [0] * len(hours), [0] * len(hours)
    deliveries, failures = section(hours)
    return list(deliveries), list(failures)


def oauth_account_summary(*, now: datetime) -> OAuthHealth:
    section = health_section("oauth_accounts")
    return OAuthHealth.from_summary(section(now)) if section else OAuthHealth()


def outbox_summary(*, now: datetime) -> OutboxHealth | None:
    """The outbox section, or None when `integrations.outbox` is not installed."""
    section = health_section("outbox")
    return OutboxHealth.from_summary(section(now)) if section else None
