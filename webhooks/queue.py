"""The one module that enqueues webhook processing: publish, re-dispatch, eager hand-off.

- `webhook_events_enqueue_new`: the hot path, after the delivery's insert committed. With a
  broker the ids go to the per-process background publisher (`webhooks.publisher`: batched,
  off the request thread); without one (eager mode) the request processes a bounded number
  and the in-process dispatcher thread the rest, after the response.
- `webhook_events_publish`: one `webhook_events_process_task` message for a batch, and (for
  re-dispatches) the batch's `published_at` recorded. A failed publish only delays: the events
  stay stored.
- `webhook_events_enqueue`: the same for the dispatcher and replay, in batches.
- `webhook_events_dispatch_due`: what beat runs on the `liaison_dispatch` queue (so a backlog
  on the processing queue never delays it): failed events whose retry is due, `pending` ones
  whose enqueue was lost, `processing` ones whose lease expired. An event published since it
  became due, less than `WEBHOOKS_PENDING_GRACE_SECONDS` ago, is not published again: its
  message is still in flight (queued behind a backlog, or held by a worker), and re-sending it
  on every run would multiply the backlog it waits behind. An event that failed (or whose
  worker died) after its last publish is due again on its own schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from webhooks import conf
from webhooks.counters import arrivals_fold_logged
from webhooks.models import WebhookEvent
from webhooks.signals import webhook_event_dead, webhook_event_failed

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status
Clock = Callable[[], datetime]


def webhook_events_enqueue_new(*, event_pks: list[int]) -> None:
    """Queue processing of freshly stored events (the hot path; runs after commit)."""
    from celery import current_app

    if current_app.conf.task_always_eager:
        from webhooks.publisher import eager_dispatcher

        eager_dispatcher.process_bounded(event_pks)
        return
    from webhooks.publisher import event_publisher

    event_publisher.submit(event_pks)


def webhook_events_publish(event_pks: list[int], *, record: bool = True) -> None:
    """Publish one processing message for `event_pks` and, with `record`, when. Raises if the
    broker refused (the caller logs it; the events stay stored and are re-dispatched later).

    The hot path's publisher passes `record=False`: a fresh event is not due for re-dispatch
    before the grace period anyway (its `next_attempt_at` is its arrival), and an UPDATE of
    every row just inserted would double the database writes of ingestion (a new row version
    and a trigger run per event). Re-dispatches record it, so an event waiting behind a
    backlog is published again at most once per grace period instead of on every pass.
    """
    from webhooks.tasks import webhook_events_process_task

    webhook_events_process_task.delay(event_pks)
    if not record:
        return
    try:
        WebhookEvent.objects.filter(pk__in=event_pks).update(published_at=timezone.now())
    except DatabaseError as exc:
        # Published all the same; without the mark the dispatcher may publish them once more.
        logger.warning("webhook_event_publish_unrecorded", extra={"error": type(exc).__name__})


def webhook_events_enqueue(*, event_pks: list[int], batch_size: int = 50) -> None:
    """Queue processing of stored events, `batch_size` per message (dispatcher, replay)."""
    for start in range(0, len(event_pks), batch_size):
        chunk = event_pks[start : start + batch_size]
        try:
            webhook_events_publish(chunk)
        except Exception as exc:
            logger.warning(
                "webhook_event_enqueue_failed",
                extra={"events": len(chunk), "error": type(exc).__name__},
            )


@dataclass(frozen=True)
class DispatchReport:
    due_failed: int = 0
    stale_pending: int = 0
    stuck_retried: int = 0
    stuck_dead: int = 0

    @property
    def enqueued(self) -> int:
        return self.due_failed + self.stale_pending + self.stuck_retried


def webhook_events_dispatch_due(*, clock: Clock = timezone.now) -> DispatchReport:
    """Re-dispatch what would otherwise wait forever (run by beat and a command).

    - `failed` events whose next attempt is due;
    - `pending` events older than the grace period (their enqueue was lost, or no worker);
    - `processing` events whose lease expired (the worker died or hung): recorded as a failed
      attempt, then retried on the backoff schedule (or `dead` past the last attempt).

    Events published within the grace period are left alone (module docstring). It also
    folds the counters' arrival journal (`webhooks.counters`), so the counts catch up even
    while no worker processes anything.
    """
    now = clock()
    batch = conf.dispatch_batch_size()
    arrivals_fold_logged(every=True)
    stuck_retried, stuck_dead = _release_stuck(now=now, batch=batch)
    grace_start = now - timedelta(seconds=conf.pending_grace_seconds())
    # In flight: published since it became due, less than a grace period ago. An event that
    # failed (or whose worker died) after its last publish became due later than that publish.
    not_in_flight = (
        Q(published_at__isnull=True)
        | Q(published_at__lt=F("next_attempt_at"))
        | Q(published_at__lte=grace_start)
    )
    due_failed = list(
        WebhookEvent.objects.filter(not_in_flight, status=Status.FAILED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    stale_pending = list(
        WebhookEvent.objects.filter(
            not_in_flight, status=Status.PENDING, next_attempt_at__lte=grace_start
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    if due_failed or stale_pending:
        transaction.on_commit(
            partial(webhook_events_enqueue, event_pks=[*due_failed, *stale_pending])
        )
    report = DispatchReport(
        due_failed=len(due_failed),
        stale_pending=len(stale_pending),
        stuck_retried=stuck_retried,
        stuck_dead=stuck_dead,
    )
    if report.enqueued or stuck_dead:
        logger.info("webhook_events_dispatched", extra=report.__dict__)
    return report


def _release_stuck(*, now: datetime, batch: int) -> tuple[int, int]:
    """Record expired `processing` claims as failed attempts (or dead); (retried, dead)."""
    from webhooks.services.processing import _send_failure_signal, retry_delay_seconds

    stuck_retried = stuck_dead = 0
    stuck = WebhookEvent.objects.filter(status=Status.PROCESSING, locked_until__lt=now).values_list(
        "pk", "attempts", "locked_until"
    )[:batch]
    for pk, attempts, locked_until in list(stuck):
        delay = retry_delay_seconds(attempts=attempts)
        guard = WebhookEvent.objects.filter(
            pk=pk, status=Status.PROCESSING, locked_until=locked_until
        )
        error = "WorkerLost: the processing lease expired (worker died or timed out)"
        with transaction.atomic():
            if delay is None:
                changed = guard.update(
                    status=Status.DEAD, next_attempt_at=None, locked_until=None, last_error=error
                )
                stuck_dead += changed
                signal = webhook_event_dead
            else:
                changed = guard.update(
                    status=Status.FAILED,
                    next_attempt_at=now + timedelta(seconds=delay),
                    locked_until=None,
                    last_error=error,
                )
                stuck_retried += changed
                signal = webhook_event_failed
            if changed:
                event = WebhookEvent.objects.select_related("endpoint").get(pk=pk)
                _send_failure_signal(signal, event=event, error=error)
    return stuck_retried, stuck_dead
