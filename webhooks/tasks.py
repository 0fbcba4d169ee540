"""Celery tasks of the `webhooks` app: thin wrappers that take an id and call a service."""

from __future__ import annotations

from celery import shared_task

from webhooks.queue import webhook_events_dispatch_due
from webhooks.services import webhook_events_process, webhook_events_prune_batched


@shared_task(ignore_result=True)
def webhook_events_process_task(event_ids: list[int]) -> dict[str, int]:
    """Process stored events (WebhookEvent primary keys), published together in a batch.

    Safe to run twice or concurrently: each event is claimed atomically on its own, and an
    event that is not claimable (already done, not yet due, running elsewhere) is skipped, so
    a batch redelivered after a worker died only runs what is still claimable. Retries are
    scheduled in the database, not with Celery countdowns, so they survive broker restarts
    and are re-dispatched by `webhook_events_dispatch_due_task`.
    """
    counts: dict[str, int] = {}
    # Claimed together (one UPDATE), each event still run in its own transaction.
    for outcome in webhook_events_process(event_pks=[int(event_id) for event_id in event_ids]):
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


@shared_task(ignore_result=True)
def webhook_events_retention_task() -> int:
    """Apply WEBHOOKS_RETENTION_DAYS (Celery beat): bounded batches, at most 5 minutes a run
    (the rest waits for the next run). Returns how many events were deleted."""
    return webhook_events_prune_batched(max_seconds=300).deleted


@shared_task(ignore_result=True)
def webhook_events_dispatch_due_task() -> dict[str, int]:
    """Re-dispatch due failed, stale pending and stuck processing events (Celery beat; routed
    to the `liaison_dispatch` queue so a processing backlog never delays it)."""
    report = webhook_events_dispatch_due()
    return {
        "due_failed": report.due_failed,
        "stale_pending": report.stale_pending,
        "stuck_retried": report.stuck_retried,
        "stuck_dead": report.stuck_dead,
    }
