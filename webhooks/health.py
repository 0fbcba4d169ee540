"""The webhook sections of the operations health report (registered in `integrations.ops`).

`WebhooksConfig.ready()` registers these with `integrations.ops.registry`, so the dashboard,
`manage.py integrations_health`, the metrics and the staff API show webhook state without the
ops app importing this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Min

from webhooks.counters import duplicates_totals, hourly_totals, tally_totals
from webhooks.models import VerificationFailureCount, WebhookEndpoint, WebhookEvent

HOURS = 24
STATUSES = [choice.value for choice in WebhookEvent.Status]


def webhook_endpoint_rows(now: datetime) -> list[dict[str, Any]]:
    """One row per endpoint, from the counters (`webhooks.counters`), the hourly failure
    counts and, only for endpoints with a backlog, the oldest pending event (read through the
    partial index of pending/failed events: its cost follows the backlog, not the log)."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    totals = tally_totals()
    hourly = hourly_totals(since=this_hour - timedelta(hours=HOURS - 1))
    failures: dict[int, dict[str, int]] = {}
    for endpoint_id, hour, count in VerificationFailureCount.objects.filter(
        hour__gte=this_hour - timedelta(hours=HOURS - 1)
    ).values_list("endpoint_id", "hour", "count"):
        row = failures.setdefault(endpoint_id, {"this_hour": 0, "last_hour": 0, "day": 0})
        row["day"] += count
        if hour >= this_hour:
            row["this_hour"] += count
        elif hour >= this_hour - timedelta(hours=1):
            row["last_hour"] += count
    endpoints = list(
        WebhookEndpoint.objects.order_by("slug").values("id", "slug", "provider", "active")
    )
    backlog = [e["id"] for e in endpoints if totals.get(e["id"], {}).get("status:pending", 0) > 0]
    oldest_pending = (
        dict(
            WebhookEvent.objects.filter(status="pending", endpoint_id__in=backlog)
            .order_by()
            .values_list("endpoint_id")
            .annotate(oldest=Min("received_at"))
            .values_list("endpoint_id", "oldest")
        )
        if backlog
        else {}
    )
    recent_since = this_hour - timedelta(hours=1)
    rows = []
    for endpoint in endpoints:
        counts = totals.get(endpoint["id"], {})
        hours = hourly.get(endpoint["id"], {})
        oldest = oldest_pending.get(endpoint["id"])
        fails = failures.get(endpoint["id"], {"this_hour": 0, "last_hour": 0, "day": 0})
        timed = sum(v for (h, n), v in hours.items() if n == "duration_count" and h >= recent_since)
        spent_us = sum(v for (h, n), v in hours.items() if n == "duration_us" and h >= recent_since)
        rows.append(
            {
                "slug": endpoint["slug"],
                "provider": endpoint["provider"],
                "active": endpoint["active"],
                "deliveries_24h": sum(v for (_h, n), v in hours.items() if n == "received"),
                "deliveries_total": counts.get("received", 0),
                **{status: max(0, counts.get(f"status:{status}", 0)) for status in STATUSES},
                "oldest_pending_at": oldest.isoformat(timespec="seconds") if oldest else None,
                "lag_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0,
                "verification_failures_this_hour": fails["this_hour"],
                "verification_failures_last_hour": fails["last_hour"],
                "verification_failures_24h": fails["day"],
                # Claim → outcome, over this clock hour and the previous one (hourly rollup).
                "processed_last_hour": timed,
                "processing_avg_seconds": round(spent_us / timed / 1e6, 3) if timed else None,
                "processing_max_seconds": None,
            }
        )
    return rows


def webhook_series(hours: list[datetime]) -> tuple[list[int], list[int]]:
    deliveries = [0] * len(hours)
    failures = [0] * len(hours)
    index = {hour: i for i, hour in enumerate(hours)}
    for per_endpoint in hourly_totals(since=hours[0]).values():
        for (hour, name), value in per_endpoint.items():
            if name != "received":
                continue
            position = index.get(_utc(hour))
            if position is not None:
                deliveries[position] += value
    for hour, count in VerificationFailureCount.objects.filter(hour__gte=hours[0]).values_list(
        "hour", "count"
    ):
        position = index.get(_utc(hour).replace(minute=0, second=0, microsecond=0))
        if position is not None:
            failures[position] += count
    return deliveries, failures


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def webhook_verification_failure_totals() -> Iterator[tuple[str, str, int]]:
    """(endpoint slug, reason, total) since the counters exist (monotonic)."""
    slugs = dict(WebhookEndpoint.objects.values_list("id", "slug"))
    for endpoint_id, counts in tally_totals().items():
        for name, value in counts.items():
            if name.startswith("rejected:") and endpoint_id in slugs:
                yield slugs[endpoint_id], name.split(":", 1)[1], value


def webhook_event_counts() -> dict[str, dict[str, int]]:
    """{endpoint slug: {status: count}} for every endpoint (zeros included), from counters."""
    totals = tally_totals()
    return {
        slug: {status: max(0, totals.get(pk, {}).get(f"status:{status}", 0)) for status in STATUSES}
        for pk, slug in WebhookEndpoint.objects.order_by("slug").values_list("id", "slug")
    }


def webhook_metric_totals() -> list[tuple[str, str, dict[str, int]]]:
    """[(slug, provider, {counter: value})] for `/metrics`: two small queries, no event rows."""
    totals = tally_totals()
    endpoints = list(WebhookEndpoint.objects.order_by("slug").values_list("id", "slug", "provider"))
    duplicates = duplicates_totals(pk for pk, _slug, _provider in endpoints)
    return [
        (slug, provider, {**totals.get(pk, {}), "duplicate": duplicates.get(pk, 0)})
        for pk, slug, provider in endpoints
    ]


def register() -> None:
    from integrations.ops.registry import health_section_register, staff_urls_register

    health_section_register("webhook_endpoints", webhook_endpoint_rows)
    health_section_register("webhook_series", webhook_series)
    health_section_register(
        "webhook_verification_failure_totals", webhook_verification_failure_totals
    )
    health_section_register("webhook_event_counts", webhook_event_counts)
    health_section_register("webhook_metric_totals", webhook_metric_totals)
    staff_urls_register("webhooks/", "webhooks.api_urls")
