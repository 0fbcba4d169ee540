"""The webhook sections of the operations health report (registered in `integrations.ops`).

`WebhooksConfig.ready()` registers these with `integrations.ops.registry`, so the dashboard,
`manage.py integrations_health`, the metrics and the staff API show webhook state without the
ops app importing this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncHour

from webhooks.models import VerificationFailureCount, WebhookEndpoint, WebhookEvent

HOURS = 24
PROCESSING_SAMPLE_LIMIT = 2000


def webhook_endpoint_rows(now: datetime) -> list[dict[str, Any]]:
    since = now - timedelta(hours=HOURS)
    events = {
        row["endpoint_id"]: row
        for row in WebhookEvent.objects.order_by()
        .values("endpoint_id")
        .annotate(
            total=Count("id"),
            recent=Count("id", filter=Q(received_at__gte=since)),
            pending=Count("id", filter=Q(status="pending")),
            processing=Count("id", filter=Q(status="processing")),
            failed=Count("id", filter=Q(status="failed")),
            dead=Count("id", filter=Q(status="dead")),
            oldest_pending=Min("received_at", filter=Q(status="pending")),
        )
    }
    this_hour = now.replace(minute=0, second=0, microsecond=0)
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
    durations = _processing_durations(now=now)
    rows = []
    for endpoint in WebhookEndpoint.objects.order_by("slug").values(
        "id", "slug", "provider", "active"
    ):
        ev: dict[str, Any] = dict(events.get(endpoint["id"]) or {})
        oldest = ev.get("oldest_pending")
        fails = failures.get(endpoint["id"], {"this_hour": 0, "last_hour": 0, "day": 0})
        spent = durations.get(endpoint["id"], [])
        rows.append(
            {
                "slug": endpoint["slug"],
                "provider": endpoint["provider"],
                "active": endpoint["active"],
                "deliveries_24h": ev.get("recent", 0),
                "deliveries_total": ev.get("total", 0),
                "pending": ev.get("pending", 0),
                "processing": ev.get("processing", 0),
                "failed": ev.get("failed", 0),
                "dead": ev.get("dead", 0),
                "oldest_pending_at": oldest.isoformat(timespec="seconds") if oldest else None,
                "lag_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0,
                "verification_failures_this_hour": fails["this_hour"],
                "verification_failures_last_hour": fails["last_hour"],
                "verification_failures_24h": fails["day"],
                "processed_last_hour": len(spent),
                "processing_avg_seconds": round(sum(spent) / len(spent), 3) if spent else None,
                "processing_max_seconds": round(max(spent), 3) if spent else None,
            }
        )
    return rows


def _processing_durations(*, now: datetime) -> dict[int, list[float]]:
    """Seconds from the claim to processed, per endpoint, for events received in the last
    hour (the newest PROCESSING_SAMPLE_LIMIT).

    From the claim, not from receipt: time spent waiting (a backlog, a retry delay, a replay
    of an old event) is the lag's business; this is how long the handlers took. Events never
    claimed (marked ignored by hand) have no processing time and are left out.
    """
    result: dict[int, list[float]] = {}
    rows = (
        WebhookEvent.objects.filter(
            received_at__gte=now - timedelta(hours=1),
            processed_at__isnull=False,
            claimed_at__isnull=False,
        )
        .order_by("-received_at")
        .values_list("endpoint_id", "claimed_at", "processed_at")[:PROCESSING_SAMPLE_LIMIT]
    )
    for endpoint_id, claimed_at, processed_at in rows:
        if processed_at is None or claimed_at is None:  # excluded by the filter (for mypy)
            continue
        seconds = max(0.0, (processed_at - claimed_at).total_seconds())
        result.setdefault(endpoint_id, []).append(seconds)
    return result


def webhook_series(hours: list[datetime]) -> tuple[list[int], list[int]]:
    deliveries = [0] * len(hours)
    failures = [0] * len(hours)
    index = {hour: i for i, hour in enumerate(hours)}
    per_hour = (
        WebhookEvent.objects.filter(received_at__gte=hours[0])
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .order_by()
        .values("hour")
        .annotate(n=Count("id"))
    )
    for row in per_hour:
        position = index.get(_utc(row["hour"]))
        if position is not None:
            deliveries[position] += row["n"]
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
    """(endpoint slug, reason, total) for as long as the hourly counts are kept."""
    rows = (
        VerificationFailureCount.objects.order_by()
        .values("endpoint__slug", "reason")
        .annotate(total=Sum("count"))
    )
    for row in rows:
        yield row["endpoint__slug"], row["reason"], row["total"] or 0


def register() -> None:
    from integrations.ops.registry import health_section_register, staff_urls_register
    from webhooks.api import webhook_event_counts

    health_section_register("webhook_endpoints", webhook_endpoint_rows)
    health_section_register("webhook_series", webhook_series)
    health_section_register(
        "webhook_verification_failure_totals", webhook_verification_failure_totals
    )
    health_section_register("webhook_event_counts", webhook_event_counts)
    staff_urls_register("webhooks/", "webhooks.api_urls")
