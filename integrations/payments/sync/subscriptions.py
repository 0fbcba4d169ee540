"""Subscriptions: the snapshot, its pause / resume / trial-end signals, and the latest
invoice outcome recorded on it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from integrations.payments.models import Invoice, Subscription
from integrations.payments.signals import (
    subscription_changed,
    subscription_paused,
    subscription_resumed,
    subscription_trial_will_end,
)
from integrations.payments.sync.base import (
    SyncResult,
    assign,
    from_epoch,
    is_stale,
    local_customer,
    locked_row,
    object_id,
)

TRIAL_WILL_END_EVENT = "customer.subscription.trial_will_end"
_RESUMED_TO = {"active", "trialing"}


def _subscription_fields(sub: Mapping[str, Any]) -> dict[str, Any]:
    items = (sub.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    period_end = sub.get("current_period_end")
    if period_end is None:
        ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
        period_end = max(ends) if ends else None
    customer_id = object_id(sub.get("customer"))
    pause = sub.get("pause_collection") or {}
    return {
        "stripe_customer_id": customer_id,
        "customer": local_customer(customer_id),
        "price_id": object_id(first.get("price")) if first else "",
        "status": str(sub.get("status") or ""),
        "current_period_end": from_epoch(period_end),
        "trial_end": from_epoch(sub.get("trial_end")),
        "pause_collection": str(pause.get("behavior") or ""),
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
        "canceled_at": from_epoch(sub.get("canceled_at")),
        "latest_invoice_id": object_id(sub.get("latest_invoice")),
        "livemode": bool(sub.get("livemode")),
        "metadata": dict(sub.get("metadata") or {}),
    }


def subscription_sync(
    sub: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Subscription]:
    fields = _subscription_fields(sub)
    with transaction.atomic(savepoint=False):
        row, created = locked_row(
            Subscription, str(sub["id"]), {**fields, "last_event_at": event_at}
        )
        if created:
            Invoice.objects.filter(stripe_subscription_id=row.stripe_id, subscription=None).update(
                subscription=row
            )
            subscription_changed.send(sender=Subscription, subscription=row, previous_status=None)
            _status_signals_send(row, previous_status=None, event_type=event_type)
            _trial_will_end_send(row, sub, event_type=event_type)
            return SyncResult(row, True, True)
        if is_stale(row.last_event_at, event_at):
            # Stale state, but a trial warning is still news if not sent for this trial.
            _trial_will_end_send(row, sub, event_type=event_type)
            return SyncResult(row, False, False, False)
        if not fields["latest_invoice_id"]:
            fields.pop("latest_invoice_id")
        previous_status = row.status
        changed = assign(row, fields)
        if event_at is not None:
            row.last_event_at = event_at
        row.save()
        if changed:
            subscription_changed.send(
                sender=Subscription, subscription=row, previous_status=previous_status
            )
            _status_signals_send(row, previous_status=previous_status, event_type=event_type)
        _trial_will_end_send(row, sub, event_type=event_type)
        return SyncResult(row, False, True, changed, {"status": previous_status})


def _status_signals_send(
    row: Subscription, *, previous_status: str | None, event_type: str | None
) -> None:
    if row.status == "paused" and previous_status != "paused":
        subscription_paused.send(sender=Subscription, subscription=row, event_type=event_type)
    elif previous_status == "paused" and row.status in _RESUMED_TO:
        subscription_resumed.send(sender=Subscription, subscription=row, event_type=event_type)


def _trial_will_end_send(
    row: Subscription, sub: Mapping[str, Any], *, event_type: str | None
) -> None:
    """Once per trial end: a duplicate or late `trial_will_end` for the same trial sends
    nothing (the trial end it was sent for is stored on the row)."""
    trial_end = from_epoch(sub.get("trial_end"))
    if event_type != TRIAL_WILL_END_EVENT or trial_end is None:
        return
    if row.trial_will_end_sent_for == trial_end:
        return
    row.trial_will_end_sent_for = trial_end
    row.save(update_fields=["trial_will_end_sent_for", "updated_at"])
    subscription_trial_will_end.send(
        sender=Subscription, subscription=row, trial_end=trial_end, event_type=event_type
    )


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
    with transaction.atomic(savepoint=False):
        row, created = locked_row(
            Subscription,
            sub_id,
            {
                "stripe_customer_id": customer_id,
                "customer": local_customer(customer_id),
                "livemode": bool(invoice.get("livemode")),
            },
        )
        if is_stale(row.latest_invoice_event_at, event_at):
            return SyncResult(row, created, False)
        previous_status = None if created else row.status
        changed = assign(
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
