"""Reads behind the health dashboard, the command, the metrics and the alerts.

`health_report()` returns one JSON-serialisable dict:

- `services`: one row per outbound service (from `integrations.health.snapshot()`): calls,
  attempts, success rate, error rate, errors by class, p50/p95 latency, breaker state and when
  it retries, rate-limit utilisation and waits, over the last `window_seconds`.
- `endpoints`: one row per webhook endpoint: deliveries (24 h and all time), events by status,
  processing lag (age of the oldest pending event), verification failures (this hour, the
  previous hour, 24 h), processing time (received → processed) over the last hour.
- `oauth`: accounts needing reconnect (the 50 most recent), and per provider the accounts by
  status, the ones whose refresh is failing and the ones refreshed in the last hour.
- `series`: 24 hourly points (oldest first) of webhook deliveries, verification failures and
  outbound errors.

The webhook and OAuth sections read those apps' models through the app registry (empty when the
app is not installed), so `integrations` does not import them. Each section is a handful of
aggregate queries; nothing is cached, so a reload always shows the current state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from integrations import conf as integrations_conf
from integrations.health import snapshot
from integrations.observability import conf
from integrations.observability.history import outbound_errors_by_hour, outbound_history_update
from integrations.redaction import redact_text

HOURS = 24
RECONNECT_LIST_LIMIT = 50
PROCESSING_SAMPLE_LIMIT = 2000


def health_report() -> dict[str, Any]:
    now = timezone.now()
    services = outbound_service_rows()
    names = [row["name"] for row in services]
    outbound_history_update(names)
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1 - i)
        for i in range(HOURS)
    ]
    deliveries, failures = _webhook_series(hours)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "window_seconds": integrations_conf.integrations_metrics_window_seconds(),
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


def _model(app_label: str, name: str) -> Any:
    if not apps.is_installed(app_label):
        return None
    return apps.get_model(app_label, name)


def webhook_endpoint_rows(*, now: datetime) -> list[dict[str, Any]]:
    endpoint_model = _model("webhooks", "WebhookEndpoint")
    if endpoint_model is None:
        return []
    event_model = apps.get_model("webhooks", "WebhookEvent")
    counts_model = apps.get_model("webhooks", "VerificationFailureCount")
    since = now - timedelta(hours=HOURS)
    events = {
        row["endpoint_id"]: row
        for row in event_model.objects.order_by()
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
    for endpoint_id, hour, count in counts_model.objects.filter(
        hour__gte=this_hour - timedelta(hours=HOURS - 1)
    ).values_list("endpoint_id", "hour", "count"):
        row = failures.setdefault(endpoint_id, {"this_hour": 0, "last_hour": 0, "day": 0})
        row["day"] += count
        if hour >= this_hour:
            row["this_hour"] += count
        elif hour >= this_hour - timedelta(hours=1):
            row["last_hour"] += count
    durations = _processing_durations(event_model, now=now)
    rows = []
    for endpoint in endpoint_model.objects.order_by("slug").values(
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


def _processing_durations(event_model: Any, *, now: datetime) -> dict[int, list[float]]:
    """Seconds from receipt to processed, per endpoint, for events received in the last hour
    (the newest PROCESSING_SAMPLE_LIMIT)."""
    result: dict[int, list[float]] = {}
    rows = (
        event_model.objects.filter(
            received_at__gte=now - timedelta(hours=1), processed_at__isnull=False
        )
        .order_by("-received_at")
        .values_list("endpoint_id", "received_at", "processed_at")[:PROCESSING_SAMPLE_LIMIT]
    )
    for endpoint_id, received_at, processed_at in rows:
        seconds = max(0.0, (processed_at - received_at).total_seconds())
        result.setdefault(endpoint_id, []).append(seconds)
    return result


def _webhook_series(hours: list[datetime]) -> tuple[list[int], list[int]]:
    deliveries = [0] * len(hours)
    failures = [0] * len(hours)
    event_model = _model("webhooks", "WebhookEvent")
    if event_model is None:
        return deliveries, failures
    counts_model = apps.get_model("webhooks", "VerificationFailureCount")
    index = {hour: i for i, hour in enumerate(hours)}
    per_hour = (
        event_model.objects.filter(received_at__gte=hours[0])
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .order_by()
        .values("hour")
        .annotate(n=Count("id"))
    )
    for row in per_hour:
        position = index.get(_utc(row["hour"]))
        if position is not None:
            deliveries[position] += row["n"]
    for hour, count in counts_model.objects.filter(hour__gte=hours[0]).values_list("hour", "count"):
        position = index.get(_utc(hour).replace(minute=0, second=0, microsecond=0))
        if position is not None:
            failures[position] += count
    return deliveries, failures


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def oauth_account_summary(*, now: datetime) -> dict[str, Any]:
    account_model = _model("oauth_accounts", "ConnectedAccount")
    empty: dict[str, Any] = {
        "needs_reconnect": [],
        "needs_reconnect_total": 0,
        "providers": {},
    }
    if account_model is None:
        return empty
    providers: dict[str, dict[str, Any]] = {}

    def provider(name: str) -> dict[str, Any]:
        return providers.setdefault(
            name,
            {
                "by_status": {},
                "refresh_failing": 0,
                "reconnect_recent": 0,
                "refreshed_last_hour": 0,
            },
        )

    for row in (
        account_model.objects.order_by().values("provider", "status").annotate(n=Count("id"))
    ):
        provider(row["provider"])["by_status"][row["status"]] = row["n"]
    threshold = conf.alert_oauth_refresh_failures()
    window = now - timedelta(hours=conf.alert_oauth_reconnect_window_hours())
    for field, queryset in (
        (
            "refresh_failing",
            account_model.objects.filter(status="active", failure_count__gte=threshold),
        ),
        (
            "reconnect_recent",
            account_model.objects.filter(status="needs_reconnect", updated_at__gte=window),
        ),
        (
            "refreshed_last_hour",
            account_model.objects.filter(last_refreshed_at__gte=now - timedelta(hours=1)),
        ),
    ):
        for row in queryset.order_by().values("provider").annotate(n=Count("id")):
            provider(row["provider"])[field] = row["n"]
    reconnect = account_model.objects.filter(status="needs_reconnect").order_by("-updated_at")
    listed = [
        {
            "id": row["id"],
            "provider": row["provider"],
            "display_name": row["display_name"],
            "user_id": row["user_id"],
            "failure_count": row["failure_count"],
            "last_error": redact_text(row["last_error"])[:200],
            "updated_at": row["updated_at"].isoformat(timespec="seconds"),
        }
        for row in reconnect.values(
            "id", "provider", "display_name", "user_id", "failure_count", "last_error", "updated_at"
        )[:RECONNECT_LIST_LIMIT]
    ]
    return {
        "needs_reconnect": listed,
        "needs_reconnect_total": reconnect.count(),
        "providers": providers,
    }
