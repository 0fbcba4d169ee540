"""Periodic health check: keeps the 24 h outbound history and reports alert changes even when
nobody looks at the dashboard (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from integrations.ops.services import health_check


@shared_task(name="integrations.ops.health_check", ignore_result=True)
def integrations_health_check_task() -> int:
    """Returns the number of active alerts."""
    return len(health_check(sync=True).alerts)
