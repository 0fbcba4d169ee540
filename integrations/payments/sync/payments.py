"""Payments (PaymentIntents), their refunds (from Charges) and their disputes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connections, router, transaction

from integrations.core.db import fetchall_prepared
from integrations.payments.models import Dispute, Payment
from integrations.payments.signals import (
    dispute_changed,
    payment_failed,
    payment_refunded,
    payment_succeeded,
)
from integrations.payments.sync.base import (
    SyncResult,
    from_epoch,
    is_stale,
    local_customer,
    locked_row,
    object_id,
    snapshot_write,
    status_rank,
    text,
)

logger = logging.getLogger(__name__)

_TERMINAL_PAYMENT_STATUSES = {Payment.Status.SUCCEEDED, Payment.Status.CANCELED}
PAYMENT_FAILED_EVENT = "payment_intent.payment_failed"


def _payment_fields(intent: Mapping[str, Any]) -> dict[str, Any]:
    metadata = dict(intent.get("metadata") or {})
    error = intent.get("last_payment_error") or {}
    return {
        # `customer` (the local row) is resolved by `payment_sync` only where it writes.
        "stripe_customer_id": object_id(intent.get("customer")),
        "order_reference": str(metadata.get("order_reference") or ""),
        "amount": int(intent.get("amount") or 0),
        "amount_received": int(intent.get("amount_received") or 0),
        "currency": str(intent.get("currency") or ""),
        "status": str(intent.get("status") or ""),
        "description": str(intent.get("description") or "")[:1000],
        "receipt_email": intent.get("receipt_email") or "",
        "failure_code": str(error.get("code") or ""),
        "decline_code": str(error.get("decline_code") or ""),
        "livemode": bool(intent.get("livemode")),
        "metadata": metadata,
        "stripe_created": from_epoch(intent.get("created")),
    }


def payment_sync(
    intent: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Payment]:
    """Apply a PaymentIntent snapshot (`event_type`: the Stripe event carrying it, if any)."""
    fields = _payment_fields(intent)
    customer_id = fields["stripe_customer_id"]
    with transaction.atomic(savepoint=False):
        row, created = locked_row(
            Payment,
            str(intent["id"]),
            {**fields, "last_event_at": event_at},
            # A new row gets its customer in the INSERT (no SELECT of its own).
            related_by={"customer": ("stripe_id", customer_id or None)},
        )
        if created:
            _disputes_adopt(row)
            _payment_signals_send(row, before=None, event_type=event_type)
            return SyncResult(row, True, True)
        before = (row.status, row.last_event_at)
        stale = is_stale(row.last_event_at, event_at)
        if (
            not stale
            and event_at is not None
            and event_at == row.last_event_at
            and row.status in _TERMINAL_PAYMENT_STATUSES
            and fields["status"] != row.status
        ):
            # Same second: Stripe timestamps are whole seconds, so a final state wins a tie.
            stale = True
        if stale:
            logger.info(
                "stripe_snapshot_stale",
                extra={"object": row.stripe_id, "status": fields["status"]},
            )
            return SyncResult(row, False, False)
        fields["customer"] = local_customer(customer_id)
        for name, value in fields.items():
            setattr(row, name, value)
        if event_at is not None:
            row.last_event_at = event_at
        row.save()
        _payment_signals_send(row, before=before, event_type=event_type)
        return SyncResult(row, False, True)


def _payment_signals_send(
    row: Payment, *, before: tuple[str, datetime | None] | None, event_type: str | None
) -> None:
    """`payment_succeeded` when the status becomes succeeded; `payment_failed` for a failed
    attempt not applied before (a duplicate leaves status and event time as they were)."""
    previous_status = before[0] if before is not None else None
    if row.status == Payment.Status.SUCCEEDED and previous_status != Payment.Status.SUCCEEDED:
        payment_succeeded.send(sender=Payment, payment=row, event_type=event_type)
    if event_type == PAYMENT_FAILED_EVENT and before != (row.status, row.last_event_at):
        payment_failed.send(sender=Payment, payment=row, event_type=event_type)


def payment_sync_refund(
    charge: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Payment] | None:
    """Apply a refunded Charge to its Payment. `amount_refunded` only grows, so the order
    in which refund events arrive does not matter. None for a charge without an intent."""
    intent_id = object_id(charge.get("payment_intent"))
    if not intent_id:
        return None
    refunded = int(charge.get("amount_refunded") or 0)
    customer_id = object_id(charge.get("customer"))
    metadata = dict(charge.get("metadata") or {})
    defaults = {
        "stripe_customer_id": customer_id,
        "customer": local_customer(customer_id),
        "order_reference": str(metadata.get("order_reference") or ""),
        "amount": int(charge.get("amount") or 0),
        "amount_received": int(charge.get("amount_captured") or 0),
        "amount_refunded": refunded,
        "currency": str(charge.get("currency") or ""),
        # A captured charge belongs to a succeeded intent; the intent's own events refine it.
        "status": Payment.Status.SUCCEEDED if charge.get("captured") else "",
        "livemode": bool(charge.get("livemode")),
        "metadata": metadata,
    }
    with transaction.atomic(savepoint=False):
        row, created = locked_row(Payment, intent_id, defaults)
        if created:
            _disputes_adopt(row)
            if refunded > 0:
                payment_refunded.send(sender=Payment, payment=row, event_type=event_type)
            return SyncResult(row, True, True)
        if refunded <= row.amount_refunded:
            return SyncResult(row, False, False)
        row.amount_refunded = refunded
        row.save(update_fields=["amount_refunded", "updated_at"])
        payment_refunded.send(sender=Payment, payment=row, event_type=event_type)
        return SyncResult(row, False, True)


def _disputes_adopt(row: Payment) -> None:
    """Disputes synced before their payment point at it now (one prepared statement: it runs
    for every payment created, and the ORM's UPDATE compiled anew was a tenth of that)."""
    alias = router.db_for_write(Dispute)
    fetchall_prepared(connections[alias], _adopt_sql(alias), [row.pk, row.stripe_id])


@lru_cache(maxsize=4)
def _adopt_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    meta = Dispute._meta
    payment = quote(str(meta.get_field("payment").column))
    intent = quote(str(meta.get_field("stripe_payment_intent_id").column))
    # Identifiers from model metadata; both values are parameters.
    return (
        f"UPDATE {quote(meta.db_table)} SET {payment} = %s "  # noqa: S608  # nosec B608
        f"WHERE {payment} IS NULL AND {intent} = %s RETURNING {quote(str(meta.pk.column))}"
    )


# --- disputes --------------------------------------------------------------------------------

# Closed outcomes outrank the open states, so a same-second late `charge.dispute.updated`
# never reopens a dispute Stripe has closed.
_DISPUTE_RANK = status_rank(
    {
        "warning_needs_response": 0,
        "needs_response": 0,
        "warning_under_review": 1,
        "under_review": 1,
        "warning_closed": 2,
        "prevented": 2,
        "won": 2,
        "lost": 2,
    }
)


def dispute_sync(
    data: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Dispute]:
    """Apply a Dispute snapshot (`charge.dispute.*`); linked to its Payment by the intent."""
    intent_id = object_id(data.get("payment_intent"))
    details = data.get("evidence_details") or {}
    fields: dict[str, Any] = {
        "payment": Payment.objects.filter(stripe_id=intent_id).first() if intent_id else None,
        "stripe_payment_intent_id": intent_id,
        "stripe_charge_id": object_id(data.get("charge")),
        "amount": int(data.get("amount") or 0),
        "currency": text(data.get("currency")),
        "reason": text(data.get("reason")),
        "status": text(data.get("status")),
        "evidence_due_by": from_epoch(details.get("due_by")),
        "is_charge_refundable": bool(data.get("is_charge_refundable")),
        "livemode": bool(data.get("livemode")),
        "metadata": dict(data.get("metadata") or {}),
        "stripe_created": from_epoch(data.get("created")),
    }
    with transaction.atomic(savepoint=False):
        result = snapshot_write(
            Dispute, str(data["id"]), fields, event_at=event_at, rank=_DISPUTE_RANK
        )
        previous = None if result.created else result.before.get("status")
        if result.applied and (result.created or previous != result.row.status):
            dispute_changed.send(
                sender=Dispute,
                dispute=result.row,
                previous_status=previous,
                event_type=event_type,
            )
        return result
