"""Processing, retries, dead-lettering, re-dispatch, replay and pruning of stored events.

Claiming is one conditional UPDATE (`… WHERE status IN (pending, failed-and-due) OR the
processing lease expired`), so two workers never run the same event at once. A successful run
commits the handlers' writes and the `processed` status in one transaction, and only while the
claim is still ours: the effect is exactly once for database work.

Signals (`webhooks.signals`) are sent inside the transaction that records the status:
`webhook_event_processed` with the handlers' writes (a raising receiver fails the event),
`webhook_event_failed` / `webhook_event_dead` with the recorded failure (a raising receiver is
logged and its writes rolled back; the failure stands).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from integrations.core.redaction import redact_text
from webhooks import conf
from webhooks.handlers import handlers_for
from webhooks.models import VerificationFailureCount, WebhookEvent
from webhooks.services.ingest import webhook_events_enqueue
from webhooks.signals import webhook_event_dead, webhook_event_failed, webhook_event_processed

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status
Clock = Callable[[], datetime]


class _ClaimLost(Exception):
    """Another worker took the event over (our lease expired): roll our work back."""


@dataclass(frozen=True)
class ProcessOutcome:
    event_pk: int
    status: str  # an event status, or "skipped" when the event was not ours to run
    attempts: int = 0


def webhook_event_process(*, event_pk: int, clock: Clock = timezone.now) -> ProcessOutcome:
    """Claim the event and run its handlers; record processed / ignored / failed / dead."""
    now = clock()
    claimed = (
        WebhookEvent.objects.filter(pk=event_pk)
        .filter(
            Q(status=Status.PENDING)
            | Q(status=Status.FAILED, next_attempt_at__lte=now)
            | Q(status=Status.PROCESSING, locked_until__lt=now)
        )
        .update(
            status=Status.PROCESSING,
            attempts=F("attempts") + 1,
            claimed_at=now,
            locked_until=now + timedelta(seconds=conf.processing_lease_seconds()),
        )
    )
    if not claimed:
        return ProcessOutcome(event_pk=event_pk, status="skipped")
    event = WebhookEvent.objects.select_related("endpoint").get(pk=event_pk)
    mine = WebhookEvent.objects.filter(pk=event_pk, status=Status.PROCESSING, claimed_at=now)

    if event.attempts > conf.max_attempts():
        # Reclaimed after its worker died once too often (e.g. a handler that kills workers).
        error = "WorkerLost: the processing lease expired on the last attempt"
        with transaction.atomic():
            if mine.update(
                status=Status.DEAD, next_attempt_at=None, locked_until=None, last_error=error
            ):
                _set_status(event, status=Status.DEAD, error=error)
                _send_failure_signal(webhook_event_dead, event=event, error=error)
        return ProcessOutcome(event_pk=event_pk, status=Status.DEAD, attempts=event.attempts)

    handlers = handlers_for(event.endpoint.provider, event.event_type)
    if not handlers:
        mine.update(
            status=Status.IGNORED,
            processed_at=clock(),
            next_attempt_at=None,
            locked_until=None,
            last_error="",
        )
        logger.info("webhook_event_ignored", extra=_log_context(event))
        return ProcessOutcome(event_pk=event_pk, status=Status.IGNORED, attempts=event.attempts)

    try:
        with transaction.atomic():
            for handler in handlers:
                handler(event)
            finished = mine.update(
                status=Status.PROCESSED,
                processed_at=clock(),
                next_attempt_at=None,
                locked_until=None,
                last_error="",
            )
            if not finished:
                raise _ClaimLost
            _set_status(event, status=Status.PROCESSED, error="", processed_at=clock())
            # In the handlers' transaction: a receiver that raises fails the event like a handler.
            webhook_event_processed.send(sender=WebhookEvent, event=event)
    except _ClaimLost:
        logger.warning("webhook_event_claim_lost", extra=_log_context(event))
        return ProcessOutcome(event_pk=event_pk, status="skipped", attempts=event.attempts)
    except Exception as exc:
        status = _record_failure(event=event, claimed=mine, exc=exc, clock=clock)
        return ProcessOutcome(event_pk=event_pk, status=status, attempts=event.attempts)
    logger.info("webhook_event_processed", extra=_log_context(event))
    return ProcessOutcome(event_pk=event_pk, status=Status.PROCESSED, attempts=event.attempts)


def _record_failure(
    *, event: WebhookEvent, claimed: QuerySet[WebhookEvent], exc: Exception, clock: Clock
) -> str:
    error = _describe_error(exc)
    delay = retry_delay_seconds(attempts=event.attempts)
    if delay is None:
        with transaction.atomic():
            if claimed.update(
                status=Status.DEAD, next_attempt_at=None, locked_until=None, last_error=error
            ):
                _set_status(event, status=Status.DEAD, error=error)
                _send_failure_signal(webhook_event_dead, event=event, error=error)
        logger.error(
            "webhook_event_dead", extra={**_log_context(event), "error": type(exc).__name__}
        )
        return Status.DEAD
    next_attempt_at = clock() + timedelta(seconds=delay)
    with transaction.atomic():
        if claimed.update(
            status=Status.FAILED,
            next_attempt_at=next_attempt_at,
            locked_until=None,
            last_error=error,
        ):
            _set_status(event, status=Status.FAILED, error=error, next_attempt_at=next_attempt_at)
            _send_failure_signal(webhook_event_failed, event=event, error=error)
    logger.warning(
        "webhook_event_failed",
        extra={**_log_context(event), "error": type(exc).__name__, "retry_in": delay},
    )
    return Status.FAILED


def _set_status(
    event: WebhookEvent,
    *,
    status: str,
    error: str,
    next_attempt_at: datetime | None = None,
    processed_at: datetime | None = None,
) -> None:
    """Mirror on the in-memory row what the UPDATE wrote, so receivers see the new state."""
    event.status = status
    event.last_error = error
    event.next_attempt_at = next_attempt_at
    event.locked_until = None
    if processed_at is not None:
        event.processed_at = processed_at


def _send_failure_signal(signal: Signal, *, event: WebhookEvent, error: str) -> None:
    """Send `webhook_event_failed` / `_dead` in a savepoint of the transaction that recorded
    the failure: the receivers' writes commit with it, and a receiver that raises is logged
    and rolled back on its own, without undoing the recorded failure."""
    try:
        with transaction.atomic():
            signal.send(sender=WebhookEvent, event=event, error=error)
    except Exception as exc:
        logger.error(
            "webhook_event_signal_receiver_failed",
            extra={**_log_context(event), "error": type(exc).__name__},
        )


def retry_delay_seconds(*, attempts: int) -> int | None:
    """Seconds before the next attempt after `attempts` failed ones; None: give up (dead)."""
    schedule = conf.retry_schedule()
    if attempts < 1 or attempts > len(schedule):
        return None
    return schedule[attempts - 1]


def _describe_error(exc: BaseException) -> str:
    # Class and message only (no traceback, no locals); handlers must not put secrets in
    # exception messages, and the length is capped.
    # Redacted: a database error can quote the row it failed on (values, email addresses).
    text = redact_text(f"{type(exc).__name__}: {exc}")
    limit = conf.last_error_max_chars()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_context(event: WebhookEvent) -> dict[str, object]:
    return {
        "event": event.pk,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "endpoint": event.endpoint_id,
        "attempts": event.attempts,
    }


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
    """
    now = clock()
    batch = conf.dispatch_batch_size()
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

    due_failed = list(
        WebhookEvent.objects.filter(status=Status.FAILED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    stale_pending = list(
        WebhookEvent.objects.filter(
            status=Status.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=conf.pending_grace_seconds()),
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    if stale_pending:
        # Re-dispatched now, so not again before another grace period: under a backlog longer
        # than the grace period the first message is still queued, and re-sending the same
        # events on every run would multiply the queue (and slow the workers further).
        WebhookEvent.objects.filter(pk__in=stale_pending, status=Status.PENDING).update(
            next_attempt_at=now
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


def webhook_event_replay(*, events: QuerySet[WebhookEvent], clock: Clock = timezone.now) -> int:
    """Put events back to `pending` (attempts reset) and enqueue them; returns how many.

    Events being processed right now (unexpired lease) are left alone.
    """
    now = clock()
    pks = list(
        events.exclude(status=Status.PROCESSING, locked_until__gte=now).values_list("pk", flat=True)
    )
    replayed = 0
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        with transaction.atomic():
            replayed += (
                WebhookEvent.objects.filter(pk__in=chunk)
                .exclude(status=Status.PROCESSING, locked_until__gte=now)
                .update(
                    status=Status.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    last_error="",
                    processed_at=None,
                    claimed_at=None,
                    locked_until=None,
                )
            )
            transaction.on_commit(partial(webhook_events_enqueue, event_pks=chunk))
    logger.info("webhook_events_replayed", extra={"count": replayed})
    return replayed


def webhook_event_mark_ignored(
    *, events: QuerySet[WebhookEvent], clock: Clock = timezone.now
) -> int:
    """Mark events `ignored` (not processed, never retried); running ones are left alone."""
    now = clock()
    return events.exclude(status__in=[Status.PROCESSING, Status.IGNORED]).update(
        status=Status.IGNORED, next_attempt_at=None, locked_until=None, processed_at=now
    )


def webhook_events_prune(
    *, older_than: timedelta, include_failed: bool = False, clock: Clock = timezone.now
) -> int:
    """Delete finished events received before `now - older_than`; returns how many.

    `processed` and `ignored` only, unless `include_failed` (then `failed` and `dead` too).
    Pending and processing events are never pruned. Old hourly failure counters go too.
    """
    cutoff = clock() - older_than
    statuses = [Status.PROCESSED, Status.IGNORED]
    if include_failed:
        statuses += [Status.FAILED, Status.DEAD]
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff, status__in=statuses).delete()
    VerificationFailureCount.objects.filter(hour__lt=cutoff).delete()
    logger.info("webhook_events_pruned", extra={"count": deleted})
    return deleted
