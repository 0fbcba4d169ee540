"""Invoices, products, prices and Checkout Sessions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from integrations.payments.models import CheckoutSession, Invoice, Price, Product, Subscription
from integrations.payments.signals import (
    checkout_session_completed,
    checkout_session_expired,
    checkout_session_paid,
    checkout_session_payment_failed,
    invoice_paid,
    invoice_payment_failed,
    invoice_status_changed,
    price_changed,
    product_changed,
)
from integrations.payments.sync.base import (
    SyncResult,
    from_epoch,
    local_customer,
    object_id,
    snapshot_write,
    status_rank,
    text,
)
from integrations.payments.sync.subscriptions import invoice_subscription_id

INVOICE_PAYMENT_FAILED_EVENT = "invoice.payment_failed"
CHECKOUT_ASYNC_FAILED_EVENT = "checkout.session.async_payment_failed"

# A paid or voided invoice is final; uncollectible can still be paid.
_INVOICE_RANK = status_rank({"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3})
_CHECKOUT_STATUS = {"open": 0, "complete": 1, "expired": 1}
_CHECKOUT_PAYMENT = {"unpaid": 0, "paid": 1, "no_payment_required": 1}


def _checkout_rank(values: Mapping[str, Any]) -> int:
    status = _CHECKOUT_STATUS.get(str(values.get("status") or ""), 0)
    return status * 2 + _CHECKOUT_PAYMENT.get(str(values.get("payment_status") or ""), 0)


# --- invoices --------------------------------------------------------------------------------


def invoice_sync(
    data: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Invoice]:
    customer_id = object_id(data.get("customer"))
    subscription_id = invoice_subscription_id(data)
    transitions = data.get("status_transitions") or {}
    fields: dict[str, Any] = {
        "customer": local_customer(customer_id),
        "stripe_customer_id": customer_id,
        "subscription": Subscription.objects.filter(stripe_id=subscription_id).first()
        if subscription_id
        else None,
        "stripe_subscription_id": subscription_id,
        "number": text(data.get("number")),
        "status": text(data.get("status")),
        "billing_reason": text(data.get("billing_reason")),
        "currency": text(data.get("currency")),
        "total": int(data.get("total") or 0),
        "amount_due": int(data.get("amount_due") or 0),
        "amount_paid": int(data.get("amount_paid") or 0),
        "amount_remaining": int(data.get("amount_remaining") or 0),
        "attempt_count": int(data.get("attempt_count") or 0),
        "customer_email": text(data.get("customer_email")),
        "hosted_invoice_url": text(data.get("hosted_invoice_url")),
        "period_start": from_epoch(data.get("period_start")),
        "period_end": from_epoch(data.get("period_end")),
        "due_date": from_epoch(data.get("due_date")),
        "paid_at": from_epoch(transitions.get("paid_at")),
        "livemode": bool(data.get("livemode")),
        "metadata": dict(data.get("metadata") or {}),
        "stripe_created": from_epoch(data.get("created")),
    }
    with transaction.atomic(savepoint=False):
        result = snapshot_write(
            Invoice, str(data["id"]), fields, event_at=event_at, rank=_INVOICE_RANK
        )
        row = result.row
        previous = None if result.created else result.before.get("status")
        if result.applied and (result.created or previous != row.status):
            invoice_status_changed.send(
                sender=Invoice, invoice=row, previous_status=previous, event_type=event_type
            )
            if row.status == Invoice.Status.PAID:
                invoice_paid.send(sender=Invoice, invoice=row, event_type=event_type)
        if (
            event_type == INVOICE_PAYMENT_FAILED_EVENT
            and result.applied
            and (result.changed or result.newer)
        ):
            invoice_payment_failed.send(sender=Invoice, invoice=row, event_type=event_type)
        return result


# --- products and prices ---------------------------------------------------------------------


def product_sync(
    data: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Product]:
    if data.get("deleted") and "name" not in data:
        fields: dict[str, Any] = {"deleted": True, "active": False}
    else:
        fields = {
            "name": text(data.get("name")),
            "description": text(data.get("description")),
            "active": bool(data.get("active")),
            "default_price_id": object_id(data.get("default_price")),
            "deleted": bool(data.get("deleted")) or event_type == "product.deleted",
            "livemode": bool(data.get("livemode")),
            "metadata": dict(data.get("metadata") or {}),
            "stripe_created": from_epoch(data.get("created")),
        }
    with transaction.atomic(savepoint=False):
        result = snapshot_write(Product, str(data["id"]), fields, event_at=event_at)
        if result.created:
            Price.objects.filter(stripe_product_id=result.row.stripe_id, product=None).update(
                product=result.row
            )
        if result.applied and (result.created or result.changed):
            product_changed.send(
                sender=Product, product=result.row, created=result.created, event_type=event_type
            )
        return result


def price_sync(
    data: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[Price]:
    if data.get("deleted") and "currency" not in data:
        fields: dict[str, Any] = {"deleted": True, "active": False}
    else:
        product_id = object_id(data.get("product"))
        recurring = data.get("recurring") or {}
        unit_amount = data.get("unit_amount")
        fields = {
            "product": Product.objects.filter(stripe_id=product_id).first() if product_id else None,
            "stripe_product_id": product_id,
            "active": bool(data.get("active")),
            "currency": text(data.get("currency")),
            "unit_amount": int(unit_amount) if isinstance(unit_amount, int) else None,
            "type": text(data.get("type")),
            "recurring_interval": text(recurring.get("interval")),
            "recurring_interval_count": recurring.get("interval_count"),
            "nickname": text(data.get("nickname")),
            "lookup_key": text(data.get("lookup_key"))[:200],
            "deleted": bool(data.get("deleted")) or event_type == "price.deleted",
            "livemode": bool(data.get("livemode")),
            "metadata": dict(data.get("metadata") or {}),
            "stripe_created": from_epoch(data.get("created")),
        }
    with transaction.atomic(savepoint=False):
        result = snapshot_write(Price, str(data["id"]), fields, event_at=event_at)
        if result.applied and (result.created or result.changed):
            price_changed.send(
                sender=Price, price=result.row, created=result.created, event_type=event_type
            )
        return result


# --- Checkout Sessions -----------------------------------------------------------------------


def checkout_session_sync(
    data: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
) -> SyncResult[CheckoutSession]:
    customer_id = object_id(data.get("customer"))
    details = data.get("customer_details") or {}
    fields: dict[str, Any] = {
        "customer": local_customer(customer_id),
        "stripe_customer_id": customer_id,
        "customer_email": text(details.get("email") or data.get("customer_email")),
        "client_reference_id": text(data.get("client_reference_id"))[:200],
        "mode": text(data.get("mode")),
        "status": text(data.get("status")),
        "payment_status": text(data.get("payment_status")),
        "currency": text(data.get("currency")),
        "amount_total": data.get("amount_total")
        if isinstance(data.get("amount_total"), int)
        else None,
        "stripe_payment_intent_id": object_id(data.get("payment_intent")),
        "stripe_subscription_id": object_id(data.get("subscription")),
        "stripe_invoice_id": object_id(data.get("invoice")),
        "expires_at": from_epoch(data.get("expires_at")),
        "livemode": bool(data.get("livemode")),
        "metadata": dict(data.get("metadata") or {}),
        "stripe_created": from_epoch(data.get("created")),
    }
    with transaction.atomic(savepoint=False):
        result = snapshot_write(
            CheckoutSession, str(data["id"]), fields, event_at=event_at, rank=_checkout_rank
        )
        _checkout_signals_send(result, event_type=event_type)
        return result


def _checkout_signals_send(result: SyncResult[CheckoutSession], *, event_type: str | None) -> None:
    if not result.applied:
        return
    row, before = result.row, result.before
    kwargs = {"sender": CheckoutSession, "session": row, "event_type": event_type}
    if row.status == "complete" and before.get("status") != "complete":
        checkout_session_completed.send(**kwargs)
    if row.status == "expired" and before.get("status") != "expired":
        checkout_session_expired.send(**kwargs)
    if row.payment_status == "paid" and before.get("payment_status") != "paid":
        checkout_session_paid.send(**kwargs)
    if event_type == CHECKOUT_ASYNC_FAILED_EVENT and (result.changed or result.newer):
        checkout_session_payment_failed.send(**kwargs)
