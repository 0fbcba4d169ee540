"""Reads of the outbox (health, admin). Counts only the open states: `done` rows are the
bulk of the table and are never counted per request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q

from integrations.outbox.models import OutboxItem

Status = OutboxItem.Status
OPEN = (Status.PENDING, Status.SENDING, Status.DEAD)


def outbox_summary(*, now: datetime) -> dict[str, Any]:
    """{"pending", "sending", "dead", "oldest_due_at", "lag_seconds", "by_action"}."""
    rows = (
        OutboxItem.objects.filter(status__in=OPEN)
        .order_by()
        .values("action")
        .annotate(
            pending=Count("id", filter=Q(status=Status.PENDING)),
            sending=Count("id", filter=Q(status=Status.SENDING)),
            dead=Count("id", filter=Q(status=Status.DEAD)),
            oldest_due=Min("next_attempt_at", filter=Q(status=Status.PENDING)),
        )
    )
    by_action: dict[str, dict[str, int]] = {}
    totals = {"pending": 0, "sending": 0, "dead": 0}
    oldest: datetime | None = None
    for row in rows:
        counts = {"pending": row["pending"], "sending": row["sending"], "dead": row["dead"]}
        by_action[row["action"]] = counts
        for name, count in counts.items():
            totals[name] += count
        due = row["oldest_due"]
        if due is not None and due <= now and (oldest is None or due < oldest):
            oldest = due
    return {
        **totals,
        "oldest_due_at": oldest.isoformat(timespec="seconds") if oldest else None,
        "lag_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0,
        "by_action": by_action,
    }
