"""PaymentIntents and refunds at Stripe, and what payment events do locally (state and the
customer's confirmation / failure email)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from integrations.email.models import EmailMessage
from integrations.email.rendering import email_content_render
from integrations.email.services import email_message_enqueue
from integrations.payments import conf
from integrations.payments.gateway import stripe_call, stripe_client
from integrations.payments.models import Customer, Payment
from integrations.payments.money import amount_format, amount_major
from integrations.payments.services.idempotency import idempotency_key
from integrations.payments.signals import payment_refunded
from integrations.payments.sync import SyncResult, payment_sync


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    order_reference: str,
    customer: Customer | str | None = None,
    metadata: Mapping[str, str] | None = None,
    description: str = "",
    receipt_email: str = "",
    idem_key: str | None = None,
) -> tuple[Payment, str]:
    """Create a PaymentIntent (amount in the currency's minor unit). Returns the local
    Payment and the client secret for the front end."""
    if amount <= 0:
        raise ValueError("amount must be a positive integer in the currency's minor unit")
    client = stripe_client()
    customer_id = customer.stripe_id if isinstance(customer, Customer) else customer
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "automatic_payment_methods": {"enabled": True},
        "metadata": {**(metadata or {}), "order_reference": order_reference},
    }
    if customer_id:
        params["customer"] = customer_id
    if description:
        params["description"] = description
    if receipt_email:
        params["receipt_email"] = receipt_email
    key = idem_key or idempotency_key(
        "pi-create", order_reference, amount, currency.lower(), customer_id or ""
    )
    intent = stripe_call(
        "payment_intents.create",
        client.v1.payment_intents.create,
        params=params,
        options={"idempotency_key": key},
    )
    return payment_sync(intent.to_dict()).row, str(intent.client_secret or "")


def payment_intent_retrieve(*, intent_id: str) -> Payment:
    client = stripe_client()
    intent = stripe_call("payment_intents.retrieve", client.v1.payment_intents.retrieve, intent_id)
    return payment_sync(intent.to_dict()).row


def payment_intent_cancel(*, intent_id: str, reason: str | None = None) -> Payment:
    client = stripe_client()
    params = {"cancellation_reason": reason} if reason else {}
    intent = stripe_call(
        "payment_intents.cancel", client.v1.payment_intents.cancel, intent_id, params=params
    )
    return payment_sync(intent.to_dict()).row


def refund_create(
    *,
    payment: Payment,
    amount: int | None = None,
    reason: str | None = None,
    idem_key: str | None = None,
) -> Payment:
    """Refund all (amount None) or part of a payment."""
    client = stripe_client()
    params: dict[str, Any] = {"payment_intent": payment.stripe_id}
    if amount is not None:
        params["amount"] = amount
    if reason:
        params["reason"] = reason
    # Stable until the refund is recorded locally, so a retry does not refund twice.
    key = idem_key or idempotency_key(
        "refund", payment.stripe_id, amount or "full", payment.amount_refunded
    )
    refund = stripe_call(
        "refunds.create", client.v1.refunds.create, params=params, options={"idempotency_key": key}
    )
    refunded = int(refund.amount or 0)
    with transaction.atomic():
        row = Payment.objects.select_for_update().get(pk=payment.pk)
        before = row.amount_refunded
        row.amount_refunded = min(row.amount_received or row.amount, row.amount_refunded + refunded)
        row.save(update_fields=["amount_refunded", "updated_at"])
        if row.amount_refunded > before:
            # The `charge.refunded` event that follows finds the amount already recorded
            # and sends nothing, so this is the one signal for this refund.
            payment_refunded.send(sender=Payment, payment=row, event_type=None)
    return row


# --- what payment events do -------------------------------------------------------------------


def payment_intent_event_apply(
    *, event_type: str, intent: Mapping[str, Any], event_at: datetime | None
) -> SyncResult[Payment]:
    """Apply a `payment_intent.*` event; on succeeded / payment_failed, record the customer's
    email in the same transaction, keyed `payment:<intent>:<outcome>` (at most one ever)."""
    with transaction.atomic(savepoint=False):  # the handler's transaction, if any
        result = payment_sync(intent, event_at=event_at, event_type=event_type)
        outcome = event_type.rsplit(".", 1)[-1]
        # A late `succeeded` still confirms (the payment did succeed); a `payment_failed` that
        # is older than the state we hold (e.g. the retry already succeeded) does not alarm.
        if conf.payment_emails_enabled() and (
            outcome == "succeeded" or (outcome == "payment_failed" and result.applied)
        ):
            payment_email_enqueue(payment=result.row, outcome=outcome)
        return result


def payment_email_enqueue(*, payment: Payment, outcome: str) -> tuple[EmailMessage, bool]:
    recipient = payment_recipient(payment=payment)
    context = {
        "payment": payment,
        # In the currency's main unit ("20.00", "4200" for yen), then the ISO code.
        "amount": amount_major(amount=payment.amount, currency=payment.currency),
        "amount_display": amount_format(amount=payment.amount, currency=payment.currency),
        "currency": payment.currency.upper(),
        "order_reference": payment.order_reference or payment.stripe_id,
        "decline_code": payment.decline_code,
    }
    name = "payment_succeeded" if outcome == "succeeded" else "payment_failed"
    content = email_content_render(purpose=f"liaison_payments/email/{name}", context=context)
    return email_message_enqueue(
        purpose_key=f"payment:{payment.stripe_id}:{outcome}",
        to=[recipient] if recipient else [],
        subject=content.subject,
        text=content.text,
        html=content.html,
        categories=["payment", name],
        custom_args={"payment_intent": payment.stripe_id},
        last_error=""
        if recipient
        else "No recipient: the PaymentIntent has no receipt_email "
        "and its customer has no known email address.",
    )


def payment_recipient(*, payment: Payment) -> str:
    """`receipt_email`, else the customer's email (as synced from `customer.*` events), else
    the email of the user the customer is linked to; "" when none is known."""
    if payment.receipt_email:
        return payment.receipt_email
    customer = payment.customer or (
        Customer.objects.filter(stripe_id=payment.stripe_customer_id).first()
        if payment.stripe_customer_id
        else None
    )
    if customer is None:
        return ""
    if customer.email:
        return customer.email
    user = customer.user
    return str(getattr(user, "email", "") or "") if user is not None else ""
