"""What Stripe events do to the payment models (`integrations.payments`).

Each handler reads the object in the event's own `data.object` — no API call back to Stripe —
and applies it through `integrations.payments`, which ignores a snapshot older than the last
event applied to that object (Stripe does not guarantee delivery order). Handlers are
idempotent: a duplicate delivery or a retried processing run writes the same state again and
never sends a second confirmation / failure email (one email per payment and outcome, keyed
in a unique column, recorded in the same transaction as the state change).

Event objects: https://docs.stripe.com/api/events/types
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from integrations.payments.services import payment_intent_event_apply
from integrations.payments.sync import (
    from_epoch,
    payment_sync_refund,
    subscription_sync,
    subscription_sync_invoice,
)
from webhooks.exceptions import MalformedPayload
from webhooks.handlers import register

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent

PROVIDER = "stripe"


def _object(event: WebhookEvent) -> tuple[dict[str, Any], datetime | None]:
    payload = event.payload
    obj = (payload.get("data") or {}).get("object") if isinstance(payload, dict) else None
    if not isinstance(obj, dict) or not obj.get("id"):
        raise MalformedPayload("The Stripe event has no data.object with an id.")
    return obj, from_epoch(payload.get("created")) or event.occurred_at


@register(
    PROVIDER,
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
)
def payment_intent_changed(event: WebhookEvent) -> None:
    intent, event_at = _object(event)
    payment_intent_event_apply(event_type=event.event_type, intent=intent, event_at=event_at)


@register(PROVIDER, "charge.refunded")
def charge_refunded(event: WebhookEvent) -> None:
    charge, event_at = _object(event)
    payment_sync_refund(charge, event_at=event_at, event_type=event.event_type)


@register(
    PROVIDER,
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
def subscription_changed(event: WebhookEvent) -> None:
    subscription, event_at = _object(event)
    subscription_sync(subscription, event_at=event_at)


@register(PROVIDER, "invoice.paid", "invoice.payment_failed")
def invoice_outcome(event: WebhookEvent) -> None:
    invoice, event_at = _object(event)
    outcome = "paid" if event.event_type == "invoice.paid" else "payment_failed"
    subscription_sync_invoice(invoice, outcome=outcome, event_at=event_at)
