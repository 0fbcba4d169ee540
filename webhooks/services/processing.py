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
from functools import lru_cache, partial

from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from integrations.core.db import fetchall_prepared
from integrations.core.redaction import redact_text
from integrations.outbox.relay import outbox_wakes_deferred
from webhooks import conf
from webhooks.counters import arrivals_fold_logged
from webhooks.handlers import Handler, handlers_for
from webhooks.models import WebhookEvent
from webhooks.queue import webhook_events_enqueue
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
    return webhook_events_process(event_pks=[event_pk], clock=clock)[0]


def webhook_events_process(
    *, event_pks: list[int], clock: Clock = timezone.now
) -> list[ProcessOutcome]:
    """Claim a batch of events and run them; one outcome per id, in the order given.

    Few statements per event: one UPDATE claims every claimable event of the batch and one
    SELECT loads them (with their endpoints); events no handler wants are marked `ignored`
    together in one more UPDATE. An event with handlers runs in its own transaction
    (handlers, then one UPDATE to `processed` guarded by our claim, then commit), so one
    failing handler never rolls back another event. The counters follow by trigger.
    """
    if not event_pks:
        return []
    now = clock()
    claimable = (
        Q(status=Status.PENDING)
        | Q(status=Status.FAILED, next_attempt_at__lte=now)
        | Q(status=Status.PROCESSING, locked_until__lt=now)
    )
    WebhookEvent.objects.filter(claimable, pk__in=event_pks).update(
        status=Status.PROCESSING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        locked_until=now + timedelta(seconds=conf.processing_lease_seconds()),
    )
    # Ours: claimed at `now` by the UPDATE above (a concurrent worker's claim has its own time).
    claimed = {
        event.pk: event
        for event in WebhookEvent.objects.select_related("endpoint").filter(
            pk__in=event_pks, status=Status.PROCESSING, claimed_at=now
        )
    }
    outcomes: dict[int, ProcessOutcome] = {}
    ignored: list[WebhookEvent] = []
    handled: list[tuple[WebhookEvent, list[Handler]]] = []
    max_attempts = conf.max_attempts()
    for pk in dict.fromkeys(event_pks):
        event = claimed.get(pk)
        if event is None:
            outcomes[pk] = ProcessOutcome(event_pk=pk, status="skipped")
            continue
        if event.attempts > max_attempts:
            outcomes[pk] = _dead_after_lost_workers(event=event, now=now)
            continue
        handlers = handlers_for(event.endpoint.provider, event.event_type)
        if handlers:
            handled.append((event, handlers))
        else:
            ignored.append(event)
    if ignored:
        WebhookEvent.objects.filter(
            pk__in=[event.pk for event in ignored], status=Status.PROCESSING, claimed_at=now
        ).update(
            status=Status.IGNORED,
            processed_at=clock(),
            next_attempt_at=None,
            locked_until=None,
            last_error="",
        )
        for event in ignored:
            logger.info("webhook_event_ignored", extra=_log_context(event))
            outcomes[event.pk] = ProcessOutcome(
                event_pk=event.pk, status=Status.IGNORED, attempts=event.attempts
            )
    # The outbox wake-ups of the batch's transactions are published together at its end.
    with outbox_wakes_deferred():
        for event, handlers in handled:
            outcomes[event.pk] = _run_handlers(event=event, handlers=handlers, now=now, clock=clock)
    # The counters take the arrivals of stored events (these and the ones after): one
    # statement per batch (`webhooks.counters`).
    arrivals_fold_logged()
    return [outcomes[pk] for pk in event_pks]


def _dead_after_lost_workers(*, event: WebhookEvent, now: datetime) -> ProcessOutcome:
    """Reclaimed after its worker died once too often (e.g. a handler that kills workers)."""
    mine = WebhookEvent.objects.filter(pk=event.pk, status=Status.PROCESSING, claimed_at=now)
    error = "WorkerLost: the processing lease expired on the last attempt"
    with transaction.atomic():
        if mine.update(
            status=Status.DEAD, next_attempt_at=None, locked_until=None, last_error=error
        ):
            _set_status(event, status=Status.DEAD, error=error)
            _send_failure_signal(webhook_event_dead, event=event, error=error)
    return ProcessOutcome(event_pk=event.pk, status=Status.DEAD, attempts=event.attempts)


def _run_handlers(
    *,
    event: WebhookEvent,
    handlers: list[Handler],
    now: datetime,
    clock: Clock,
) -> ProcessOutcome:
    mine = WebhookEvent.objects.filter(pk=event.pk, status=Status.PROCESSING, claimed_at=now)
    try:
        with transaction.atomic():
            for handler in handlers:
                handler(event)
            processed_at = clock()
            if not _mark_processed(event_pk=event.pk, claimed_at=now, processed_at=processed_at):
                raise _ClaimLost
            _set_status(event, status=Status.PROCESSED, error="", processed_at=processed_at)
            # In the handlers' transaction: a receiver that raises fails the event like a handler.
            webhook_event_processed.send(sender=WebhookEvent, event=event)
    except _ClaimLost:
        logger.warning("webhook_event_claim_lost", extra=_log_context(event))
        return ProcessOutcome(event_pk=event.pk, status="skipped", attempts=event.attempts)
    except Exception as exc:
        status = _record_failure(event=event, claimed=mine, exc=exc, clock=clock)
        return ProcessOutcome(event_pk=event.pk, status=status, attempts=event.attempts)
    logger.info("webhook_event_processed", extra=_log_context(event))
    return ProcessOutcome(event_pk=event.pk, status=Status.PROCESSED, attempts=event.attempts)


def _mark_processed(*, event_pk: int, claimed_at: datetime, processed_at: datetime) -> bool:
    """`processed`, while the claim is ours; False when it no longer is. One prepared
    statement (the UPDATE every handled event ends with; compiled by the ORM each time it was
    a tenth of the worker's time per payment event, bench/processing_throughput.py)."""
    connection = connections[router.db_for_write(WebhookEvent)]
    date = WebhookEvent._meta.get_field("processed_at")
    rows = fetchall_prepared(
        connection,
        _processed_sql(connection.alias),
        [
            date.get_db_prep_save(processed_at, connection),
            event_pk,
            date.get_db_prep_save(claimed_at, connection),
        ],
    )
    return bool(rows)


@lru_cache(maxsize=4)
def _processed_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    meta = WebhookEvent._meta
    # Identifiers from model metadata and status constants; the values are parameters.
    return (
        f"UPDATE {quote(meta.db_table)} SET {quote('status')} = '{Status.PROCESSED.value}', "  # noqa: S608  # nosec B608
        f"{quote('processed_at')} = %s, {quote('next_attempt_at')} = NULL, "
        f"{quote('locked_until')} = NULL, {quote('last_error')} = '' "
        f"WHERE {quote('id')} = %s AND {quote('status')} = '{Status.PROCESSING.value}' "
        f"AND {quote('claimed_at')} = %s RETURNING {quote('id')}"
    )


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
    *,
    older_than: timedelta | None = None,
    include_failed: bool | None = None,
    clock: Clock = timezone.now,
) -> int:
    """Apply retention now, to completion; returns how many events were deleted.

    `older_than` replaces every endpoint's retention; `include_failed` (default: the
    WEBHOOKS_RETENTION_INCLUDE_FAILED setting) also deletes `failed` and `dead` events.
    Pending and processing events are never pruned. Deletes in bounded batches: see
    `webhooks.services.retention`.
    """
    from webhooks.services.retention import webhook_events_prune_batched

    report = webhook_events_prune_batched(
        older_than=older_than, include_failed=include_failed, clock=clock
    )
    return report.deleted
