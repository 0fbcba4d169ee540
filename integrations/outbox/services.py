"""Recording side effects with the state change, and performing them (the relay).

`outbox_enqueue` is called inside the transaction that changes state: the row commits or rolls
back with it, so an effect is never promised for a change that did not happen, nor lost for
one that did. After commit a wake-up is published (`integrations.outbox.relay`); that message
is an optimisation, never the record: a lost publish, a wiped broker or a dead worker leaves
the row `pending` (or `sending` with an expiring lease) and the sweep finds it again.

Performing a row: one conditional UPDATE claims it with a lease (`pending` and due, or
`sending` with an expired lease) and writes the claim token (`claimed_at`); the action runs
with no transaction open (no database lock across the network call); the outcome is written
only while the row still carries our token. A failure is retried on `OUTBOX_RETRY_SCHEDULE`,
database errors included; past the last attempt the row is `dead`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from integrations.core.db import row_insert_if_absent
from integrations.core.exceptions import IntegrationError
from integrations.core.redaction import redact_text
from integrations.outbox import conf
from integrations.outbox.exceptions import OutboxPermanentError
from integrations.outbox.models import OutboxItem
from integrations.outbox.registry import outbox_action_get

logger = logging.getLogger(__name__)

Status = OutboxItem.Status
Clock = Callable[[], datetime]
_KEY_MAX = OutboxItem._meta.get_field("purpose_key").max_length or 255


@dataclass(frozen=True)
class PerformOutcome:
    item_pk: int
    status: str  # a row status, "waiting" (given back, not failed) or "skipped" (not ours)


def outbox_enqueue(*, purpose_key: str, action: str, payload: dict[str, Any]) -> OutboxItem:
    """Record `action` for `purpose_key` in the caller's transaction; the existing row if the
    key was recorded before (at most one row, so one effect, per key).

    Call it inside the transaction that makes the change. `payload` holds ids, never secrets.
    One statement for a new key (`INSERT … ON CONFLICT DO NOTHING`, no savepoint), and one
    relay wake-up per transaction however many rows it records (`outbox_wake_on_commit`).
    """
    if not purpose_key or len(purpose_key) > _KEY_MAX:
        raise ValueError(f"purpose_key must be 1 to {_KEY_MAX} characters.")
    outbox_action_get(action)  # an unknown action fails here, in the caller's transaction
    item = OutboxItem(
        purpose_key=purpose_key, action=action, payload=payload, next_attempt_at=timezone.now()
    )
    if not row_insert_if_absent(item, unique_field="purpose_key"):
        return OutboxItem.objects.get(purpose_key=purpose_key)
    from integrations.outbox.relay import outbox_wake_on_commit

    outbox_wake_on_commit(item_pk=item.pk)
    return item


def outbox_item_perform(*, item_pk: int, clock: Clock = timezone.now) -> PerformOutcome:
    """Claim the row if it is due (or its lease expired), run its action, record the outcome."""
    now = clock()
    claimed = (
        OutboxItem.objects.filter(pk=item_pk)
        .filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, locked_until__lt=now)
        )
        .update(
            status=Status.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now,
            locked_until=now + timedelta(seconds=conf.lease_seconds()),
        )
    )
    if not claimed:
        return PerformOutcome(item_pk=item_pk, status="skipped")
    item = OutboxItem.objects.get(pk=item_pk)
    mine = OutboxItem.objects.filter(pk=item_pk, status=Status.SENDING, claimed_at=now)
    if item.attempts > conf.max_attempts():
        error = "Gave up: the last attempt was interrupted (worker died or timed out)."
        mine.update(status=Status.DEAD, locked_until=None, last_error=error)
        logger.error("outbox_item_dead", extra=_log_context(item))
        return PerformOutcome(item_pk=item_pk, status=Status.DEAD)
    try:
        wait = outbox_action_get(item.action)(item)
    except Exception as exc:
        return PerformOutcome(item_pk=item_pk, status=_record_failure(item, mine, exc, clock))
    try:
        if wait is not None:
            mine.update(
                status=Status.PENDING,
                attempts=F("attempts") - 1,
                next_attempt_at=clock() + timedelta(seconds=wait.seconds),
                locked_until=None,
                last_error=wait.reason,
            )
            return PerformOutcome(item_pk=item_pk, status="waiting")
        mine.update(status=Status.DONE, done_at=clock(), locked_until=None, last_error="")
    except DatabaseError as exc:
        # The effect happened; only its record failed. The lease expires and the action runs
        # again, which must then find the effect done (actions are idempotent per key).
        logger.warning("outbox_item_record_failed", extra=_error_context(item, exc))
        return PerformOutcome(item_pk=item_pk, status=Status.SENDING)
    logger.info("outbox_item_done", extra=_log_context(item))
    return PerformOutcome(item_pk=item_pk, status=Status.DONE)


def _record_failure(
    item: OutboxItem, mine: QuerySet[OutboxItem], exc: BaseException, clock: Clock
) -> str:
    permanent = isinstance(exc, OutboxPermanentError) or (
        isinstance(exc, IntegrationError) and not exc.retryable
    )
    delay = None if permanent else retry_delay_seconds(attempts=item.attempts)
    error = _describe_error(exc)
    try:
        if delay is None:
            mine.update(status=Status.DEAD, locked_until=None, last_error=error)
            logger.error("outbox_item_dead", extra=_error_context(item, exc))
            return Status.DEAD
        mine.update(
            status=Status.PENDING,
            next_attempt_at=clock() + timedelta(seconds=delay),
            locked_until=None,
            last_error=error,
        )
    except DatabaseError as record_exc:
        # The database is down too: the lease expires and the sweep retries the row.
        logger.warning("outbox_item_record_failed", extra=_error_context(item, record_exc))
        return Status.SENDING
    logger.warning("outbox_item_failed", extra={**_error_context(item, exc), "retry_in": delay})
    return Status.PENDING


def outbox_item_settle(*, purpose_key: str, clock: Clock = timezone.now) -> bool:
    """Mark the row done because its effect is confirmed from outside (e.g. SendGrid's
    `processed` event for a send whose outcome a dead worker never recorded)."""
    return bool(
        OutboxItem.objects.filter(
            purpose_key=purpose_key, status__in=[Status.PENDING, Status.SENDING]
        ).update(status=Status.DONE, done_at=clock(), locked_until=None, last_error="")
    )


def outbox_items_due(*, limit: int, clock: Clock = timezone.now) -> list[int]:
    """Rows a sweep should perform: due `pending` ones and `sending` ones whose lease expired."""
    now = clock()
    return list(
        OutboxItem.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, locked_until__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_items_retry(*, items: Iterable[OutboxItem], clock: Clock = timezone.now) -> int:
    """Give dead rows a fresh set of attempts (staff, after fixing the cause); how many."""
    now = clock()
    pks = [item.pk for item in items if item.status == Status.DEAD]
    changed = OutboxItem.objects.filter(pk__in=pks, status=Status.DEAD).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, locked_until=None
    )
    if changed:
        from integrations.outbox.relay import outbox_wake

        transaction.on_commit(lambda: outbox_wake(item_pks=pks), robust=True)
    logger.info("outbox_items_retried", extra={"count": changed})
    return changed


def retry_delay_seconds(*, attempts: int) -> int | None:
    """Seconds before the next attempt after `attempts` failed ones; None: give up (dead)."""
    schedule = conf.retry_schedule()
    if attempts < 1 or attempts > len(schedule):
        return None
    return schedule[attempts - 1]


def _describe_error(exc: BaseException) -> str:
    # Redacted: a database or provider error can quote values (addresses, keys).
    text = redact_text(f"{type(exc).__name__}: {exc}")
    limit = conf.last_error_max_chars()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_context(item: OutboxItem) -> dict[str, object]:
    return {"outbox_item": item.pk, "action": item.action, "attempts": item.attempts}


def _error_context(item: OutboxItem, exc: BaseException) -> dict[str, object]:
    return {**_log_context(item), "error": type(exc).__name__}
