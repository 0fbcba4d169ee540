"""`manage.py webhook_dispatch_due` — the periodic re-dispatch, for cron or by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webhooks.services import webhook_events_dispatch_due


class Command(BaseCommand):
    help = (
        "Re-dispatch failed events whose retry is due, pending events whose enqueue was lost "
        "(older than WEBHOOKS_PENDING_GRACE_SECONDS) and events stuck in processing past "
        "WEBHOOKS_PROCESSING_LEASE_SECONDS (their worker died). Celery beat runs the same "
        "every WEBHOOKS_DISPATCH_INTERVAL_SECONDS; without beat, run this from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = webhook_events_dispatch_due()
        self.stdout.write(
            f"due failed: {report.due_failed}, stale pending: {report.stale_pending}, "
            f"stuck retried: {report.stuck_retried}, stuck dead: {report.stuck_dead}"
        )
