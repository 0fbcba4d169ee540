"""Apply Stripe object snapshots (from an event, an API response or a list page) to the
local models.

Every function takes the object as Stripe sends it (a plain dict, as in an event's
`data.object`) and the `created` time of the event that carried it (`event_at`, None for an
API snapshot). A snapshot older than the newest event already applied to the row is ignored,
so a late, out-of-order delivery never rolls a row back. Rows are locked while compared and
written, so two workers applying events of the same object serialize.

Signals (`integrations.payments.signals`) are sent here, inside that transaction and only when
a change is written: a stale or duplicate snapshot sends nothing.

Shapes: both the pre-2025-03-31 shapes (e.g. `subscription.current_period_end`,
`invoice.subscription`) and the current ones (`items.data[].current_period_end`,
`invoice.parent.subscription_details.subscription`) are read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, models, transaction

from integrations.payments.models import Customer, Payment, Subscription
from integrations.payments.signals import (
    payment_failed,
    payment_refunded,
    payment_succeeded,
    subscription_changed,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)

_TERMINAL_PAYMENT_STATUSES = {Payment.Status.SUCCEEDED, Payment.Status.CANCELED}
PAYMENT_FAILED_EVENT = "payment_intent.payment_failed"


@dataclass(frozen=True)
class SyncResult(Generic[M]):
    row: M
    created: bool
    # False when the snapshot was older than what the row already holds (nothing written).
    applied: bool


def from_epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def object_id(value: Any) -> str:
    """An id from a field that may hold the id or the expanded object."""
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")


def _locked_row(model: type[M], stripe_id: str, defaults: dict[str, Any]) -> tuple[M, bool]:
    """The row for `stripe_id`, locked; created from `defaults` when missing."""
    manager = model._default_manager
    row = manager.select_for_update().filter(stripe_id=stripe_id).first()
    if row is not None:
        return row, False
    try:
        with transaction.atomic():
            return manager.create(stripe_id=stripe_id, **defaults), True
    except IntegrityError:
        # Another worker created it between our read and insert.
        return manager.select_for_update().get(stripe_id=stripe_id), False


def _is_stale(last_event_at: datetime | None, event_at: datetime | None) -> bool:
    return event_at is not None and last_event_at is not None and event_at < last_event_at


def _local_customer(stripe_customer_id: str) -> Customer | None:
    if not stripe_customer_id:
        return None
    return Customer.objects.filter(stripe_id=stripe_customer_id).first()


# --- customers -------------------------------------------------------------------------------


def customer_sync(
    data: Mapping[str, Any], *, event_at: datetime | None = None, user: Any = None
) -> SyncResult[Customer]:
    fields: dict[str, Any] = {
        "email": data.get("email") or "",
        "name": data.get("name") or "",
        "livemode": bool(data.get("livemode")),
        "deleted": bool(data.get("deleted")),
        "metadata": dict(data.get("metadata") or {}),
        "stripe_created": from_epoch(data.get("created")),
    }
    if user is not None:
        fields["user"] = user
    with transaction.atomic():
        row, created = _locked_row(Customer, str(data["id"]), {**fields, "last_event_at": event_at})
        if created:
            return SyncResult(row, True, True)
        if _is_stale(row.last_event_at, event_at):
            return SyncResult(row, False, False)
        if data.get("deleted"):
            # A deleted customer object carries only id/object/deleted.
            fields = {"deleted": True}
        for name, value in fields.items():
            setattr(row, name, value)
        if event_at is not None:
            row.last_event_at = event_at
        row.save()
        return SyncResult(row, False, True)


# --- payments --------------------------------------------------------------------------------


def _payment_fields(intent: Mapping[str, Any]) -> dict[str, Any]:
    metadata = dict(intent.get("metadata") or {})
    error = intent.get("last_payment_error") or {}
    customer_id = object_id(intent.get("customer"))
    return {
        "stripe_customer_id": customer_id,
        "customer": _local_customer(customer_id),
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
    with transaction.atomic():
        row, created = _locked_row(
            Payment, str(intent["id"]), {**fields, "last_event_at": event_at}
        )
        if created:
            _payment_signals_send(row, before=None, event_type=event_type)
            return SyncResult(row, True, True)
        before = (row.status, row.last_event_at)
        stale = _is_stale(row.last_event_at, event_at)
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
        "customer": _local_customer(customer_id),
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
    with transaction.atomic():
        row, created = _locked_row(Payment, intent_id, defaults)
        if created:
            if refunded > 0:
                payment_refunded.send(sender=Payment, payment=row, event_type=event_type)
            return SyncResult(row, True, True)
        if refunded <= row.amount_refunded:
            return SyncResult(row, False, False)
        row.amount_refunded = refunded
        row.save(update_fields=["amount_refunded", "updated_at"])
        payment_refunded.send(sender=Payment, payment=row, event_type=event_type)
        return SyncResult(row, False, True)


# --- subscriptions ---------------------------------------------------------------------------


def _subscription_fields(sub: Mapping[str, Any]) -> dict[str, Any]:
    items = (sub.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    period_end = sub.get("current_period_end")
    if period_end is None:
        ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
        period_end = max(ends) if ends else None
    customer_id = object_id(sub.get("customer"))
    return {
        "stripe_customer_id": customer_id,
        "customer": _local_customer(customer_id),
        "price_id": object_id(first.get("price")) if first else "",
        "status": str(sub.get("status") or ""),
        "current_period_end": from_epoch(period_end),
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
        "canceled_at": from_epoch(sub.get("canceled_at")),
        "latest_invoice_id": object_id(sub.get("latest_invoice")),
        "livemode": bool(sub.get("livemode")),
        "metadata": dict(sub.get("metadata") or {}),
    }


def subscription_sync(
    sub: Mapping[str, Any], *, event_at: datetime | None = None
) -> SyncResult[Subscription]:
    fields = _subscription_fields(sub)
    with transaction.atomic():
        row, created = _locked_row(
            Subscription, str(sub["id"]), {**fields, "last_event_at": event_at}
        )
        if created:
            subscription_changed.send(sender=Subscription, subscription=row, previous_status=None)
            return SyncResult(row, True, True)
        if _is_stale(row.last_event_at, event_at):
            return SyncResult(row, False, False)
        if not fields["latest_invoice_id"]:
            fields.pop("latest_invoice_id")
        previous_status = row.status
        changed = _assign(row, fields)
        if event_at is not None:
            row.last_event_at = event_at
        row.save()
        if changed:
            subscription_changed.send(
                sender=Subscription, subscription=row, previous_status=previous_status
            )
        return SyncResult(row, False, True)


def _assign(row: models.Model, fields: Mapping[str, Any]) -> bool:
    """Set `fields` on `row`; True when any value differs from what the row held."""
    changed = False
    for name, value in fields.items():
        field = row._meta.get_field(name)
        # A relation compares by id, so the check never loads the related row.
        current = getattr(row, field.attname if isinstance(field, models.Field) else name)
        new = value.pk if isinstance(value, models.Model) else value
        if current != new:
            changed = True
        setattr(row, name, value)
    return changed


def invoice_subscription_id(invoice: Mapping[str, Any]) -> str:
    legacy = object_id(invoice.get("subscription"))
    if legacy:
        return legacy
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return object_id(details.get("subscription"))


def subscription_sync_invoice(
    invoice: Mapping[str, Any], *, outcome: str, event_at: datetime | None = None
) -> SyncResult[Subscription] | None:
    """Record the latest invoice outcome ("paid" / "payment_failed") on its subscription.

    The subscription's own status arrives with `customer.subscription.updated`; this keeps the
    invoice side visible. None for an invoice that belongs to no subscription.
    """
    sub_id = invoice_subscription_id(invoice)
    if not sub_id:
        return None
    customer_id = object_id(invoice.get("customer"))
    with transaction.atomic():
        row, created = _locked_row(
            Subscription,
            sub_id,
            {
                "stripe_customer_id": customer_id,
                "customer": _local_customer(customer_id),
                "livemode": bool(invoice.get("livemode")),
            },
        )
        if _is_stale(row.latest_invoice_event_at, event_at):
            return SyncResult(row, created, False)
        previous_status = None if created else row.status
        changed = _assign(
            row,
            {"latest_invoice_id": str(invoice.get("id") or ""), "latest_invoice_status": outcome},
        )
        if event_at is not None:
            row.latest_invoice_event_at = event_at
        row.save()
        if created or changed:
            subscription_changed.send(
                sender=Subscription, subscription=row, previous_status=previous_status
            )
        return SyncResult(row, created, True)
