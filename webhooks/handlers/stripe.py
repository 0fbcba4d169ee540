"""What Stripe events do to the payment models (`integrations.payments`).

Each handler reads the object in the event's own `data.object` — no API call back to Stripe —
and applies it through `integrations.payments.sync`, which ignores a snapshot older than the
last event applied to that object (Stripe does not guarantee delivery order). Handlers are
idempotent: a duplicate delivery or a retried processing run writes the same state again,
sends no second signal and never a second confirmation / failure email (one email per payment
and outcome, keyed in a unique column, recorded in the same transaction as the state change).

Handled (`HANDLED_EVENT_TYPES`; every other Stripe event is recorded and marked ignored):
customer.created/updated/deleted; payment_intent.succeeded/payment_failed/canceled;
charge.refunded; charge.dispute.created/updated/closed/funds_withdrawn/funds_reinstated;
customer.subscription.created/updated/deleted/paused/resumed/trial_will_end;
checkout.session.completed/expired/async_payment_succeeded/async_payment_failed;
invoice.created/finalized/paid/payment_succeeded/payment_failed/voided/marked_uncollectible;
product.created/updated/deleted; price.created/updated/deleted.

Event objects: https://docs.stripe.com/api/events/types
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integrations.payments.services import payment_intent_event_apply
from integrations.payments.sync import (
    checkout_session_sync,
    customer_sync,
    dispute_sync,
    from_epoch,
    invoice_sync,
    payment_sync_refund,
    price_sync,
    product_sync,
    subscription_sync,
    subscription_sync_invoice,
)
from webhooks.exceptions import MalformedPayload
from webhooks.handlers import register

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent

PROVIDER = "stripe"

PAYMENT_INTENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
)
CUSTOMER_EVENTS = ("customer.created", "customer.updated", "customer.deleted")
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
)
CHECKOUT_EVENTS = (
    "checkout.session.completed",
    "checkout.session.expired",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
)
INVOICE_EVENTS = (
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
)
# The invoice outcome also recorded on the invoice's subscription (`latest_invoice_status`).
_INVOICE_OUTCOMES = {
    "invoice.paid": "paid",
    "invoice.payment_succeeded": "paid",
    "invoice.payment_failed": "payment_failed",
}
DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
PRODUCT_EVENTS = ("product.created", "product.updated", "product.deleted")
PRICE_EVENTS = ("price.created", "price.updated", "price.deleted")

HANDLED_EVENT_TYPES = (
    *CUSTOMER_EVENTS,
    *PAYMENT_INTENT_EVENTS,
    "charge.refunded",
    *DISPUTE_EVENTS,
    *SUBSCRIPTION_EVENTS,
    *CHECKOUT_EVENTS,
    *INVOICE_EVENTS,
    *PRODUCT_EVENTS,
    *PRICE_EVENTS,
)


def _object(event: WebhookEvent) -> tuple[dict[str, Any], datetime | None]:
    payload = event.payload
    obj = (payload.get("data") or {}).get("object") if isinstance(payload, dict) else None
    if not isinstance(obj, dict) or not obj.get("id"):
        raise MalformedPayload("The Stripe event has no data.object with an id.")
    return obj, from_epoch(payload.get("created")) or event.occurred_at


@register(PROVIDER, *PAYMENT_INTENT_EVENTS)
def payment_intent_changed(event: WebhookEvent) -> None:
    intent, event_at = _object(event)
    payment_intent_event_apply(event_type=event.event_type, intent=intent, event_at=event_at)


@register(PROVIDER, "charge.refunded")
def charge_refunded(event: WebhookEvent) -> None:
    charge, event_at = _object(event)
    payment_sync_refund(charge, event_at=event_at, event_type=event.event_type)


@register(PROVIDER, *INVOICE_EVENTS)
def invoice_changed(event: WebhookEvent) -> None:
    invoice, event_at = _object(event)
    outcome = _INVOICE_OUTCOMES.get(event.event_type)
    if outcome is not None:
        subscription_sync_invoice(invoice, outcome=outcome, event_at=event_at)
    invoice_sync(invoice, event_at=event_at, event_type=event.event_type)


def _apply(event: WebhookEvent, sync: Callable[..., object]) -> None:
    obj, event_at = _object(event)
    sync(obj, event_at=event_at, event_type=event.event_type)


@register(PROVIDER, *CUSTOMER_EVENTS)
def customer_changed(event: WebhookEvent) -> None:
    _apply(event, customer_sync)


@register(PROVIDER, *SUBSCRIPTION_EVENTS)
def subscription_changed(event: WebhookEvent) -> None:
    _apply(event, subscription_sync)


@register(PROVIDER, *CHECKOUT_EVENTS)
def checkout_session_changed(event: WebhookEvent) -> None:
    _apply(event, checkout_session_sync)


@register(PROVIDER, *DISPUTE_EVENTS)
def dispute_changed(event: WebhookEvent) -> None:
    _apply(event, dispute_sync)


@register(PROVIDER, *PRODUCT_EVENTS)
def product_changed(event: WebhookEvent) -> None:
    _apply(event, product_sync)


@register(PROVIDER, *PRICE_EVENTS)
def price_changed(event: WebhookEvent) -> None:
    _apply(event, price_sync)
