"""Stripe operations (`PaymentService`) and what payment events do to the local models.

Every call goes through `gateway.stripe_call` (breaker + limiter + metrics, errors translated
once). Every create/refund carries an idempotency key — the caller's, or one derived from a
stable business key (order reference, user id, payment + amount) — so a retried call never
charges or refunds twice; Stripe keeps keys for 24 hours. Results are written to the local
models through `integrations.payments.sync`, which sends the payment signals
(`integrations.payments.signals`) when a change is written.

Subscriptions (API version pinned in `conf.DEFAULT_STRIPE_API_VERSION`): since 2025-03-31 an
invoice no longer has `payment_intent`; the client secret for a `default_incomplete`
subscription is `latest_invoice.confirmation_secret.client_secret`, which is what we expand.
For an older pinned version we expand `latest_invoice.payment_intent` instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from integrations.email.models import EmailMessage
from integrations.email.rendering import email_content_render
from integrations.email.services import SendGridEmailService
from integrations.payments import conf
from integrations.payments.gateway import stripe_call, stripe_client
from integrations.payments.models import Customer, Payment, Subscription
from integrations.payments.signals import payment_refunded
from integrations.payments.sync import (
    SyncResult,
    customer_sync,
    payment_sync,
    subscription_sync,
)

logger = logging.getLogger(__name__)

# The first API version where invoices carry `confirmation_secret` instead of `payment_intent`.
CONFIRMATION_SECRET_SINCE = "2025-03-31"  # noqa: S105 - an API version, not a secret  # nosec B105


def idempotency_key(operation: str, *parts: object) -> str:
    """A stable key for `operation` on a business key (same inputs → same key)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"liaison-{operation}-{digest[:40]}"


@dataclass(frozen=True)
class SubscriptionStart:
    subscription: Subscription
    # For the front end to confirm the first payment (None when nothing is due).
    client_secret: str | None


class PaymentService:
    """Stripe payments on `stripe.StripeClient` (see the module docstring)."""

    # --- customers ---------------------------------------------------------------------------

    def customer_create(
        self,
        *,
        user: Any = None,
        email: str = "",
        name: str = "",
        metadata: Mapping[str, str] | None = None,
        idem_key: str | None = None,
    ) -> Customer:
        client = stripe_client()
        params: dict[str, Any] = {"metadata": dict(metadata or {})}
        if user is not None:
            email = email or getattr(user, "email", "") or ""
            name = name or (user.get_full_name() if hasattr(user, "get_full_name") else "")
            params["metadata"]["liaison_user_id"] = str(user.pk)
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        key = idem_key or (
            idempotency_key("customer-create", "user", user.pk) if user is not None else None
        )
        customer = stripe_call(
            "customers.create",
            client.v1.customers.create,
            params=params,
            options={"idempotency_key": key} if key else None,
        )
        return customer_sync(customer.to_dict(), user=user).row

    def customer_retrieve(self, customer_id: str) -> Customer:
        client = stripe_client()
        customer = stripe_call("customers.retrieve", client.v1.customers.retrieve, customer_id)
        return customer_sync(customer.to_dict()).row

    def customer_update(self, customer_id: str, **params: Any) -> Customer:
        client = stripe_client()
        customer = stripe_call(
            "customers.update", client.v1.customers.update, customer_id, params=params
        )
        return customer_sync(customer.to_dict()).row

    def customer_for_user(self, user: Any) -> Customer:
        """The user's Stripe customer, created on first use."""
        existing = Customer.objects.filter(user=user, deleted=False).first()
        return existing or self.customer_create(user=user)

    # --- payment intents ---------------------------------------------------------------------

    def payment_intent_create(
        self,
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

    def payment_intent_retrieve(self, intent_id: str) -> Payment:
        client = stripe_client()
        intent = stripe_call(
            "payment_intents.retrieve", client.v1.payment_intents.retrieve, intent_id
        )
        return payment_sync(intent.to_dict()).row

    def payment_intent_cancel(self, intent_id: str, *, reason: str | None = None) -> Payment:
        client = stripe_client()
        params = {"cancellation_reason": reason} if reason else {}
        intent = stripe_call(
            "payment_intents.cancel",
            client.v1.payment_intents.cancel,
            intent_id,
            params=params,
        )
        return payment_sync(intent.to_dict()).row

    def refund_create(
        self,
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
            "refunds.create",
            client.v1.refunds.create,
            params=params,
            options={"idempotency_key": key},
        )
        refunded = int(refund.amount or 0)
        with transaction.atomic():
            row = Payment.objects.select_for_update().get(pk=payment.pk)
            before = row.amount_refunded
            row.amount_refunded = min(
                row.amount_received or row.amount, row.amount_refunded + refunded
            )
            row.save(update_fields=["amount_refunded", "updated_at"])
            if row.amount_refunded > before:
                # The `charge.refunded` event that follows finds the amount already recorded
                # and sends nothing, so this is the one signal for this refund.
                payment_refunded.send(sender=Payment, payment=row, event_type=None)
        return row

    # --- subscriptions -----------------------------------------------------------------------

    def subscription_create(
        self,
        *,
        customer: Customer | str,
        price_id: str,
        quantity: int = 1,
        metadata: Mapping[str, str] | None = None,
        idem_key: str | None = None,
    ) -> SubscriptionStart:
        client = stripe_client()
        customer_id = customer.stripe_id if isinstance(customer, Customer) else customer
        new_shape = conf.stripe_api_version() >= CONFIRMATION_SECRET_SINCE
        expand = (
            "latest_invoice.confirmation_secret" if new_shape else "latest_invoice.payment_intent"
        )
        params: dict[str, Any] = {
            "customer": customer_id,
            "items": [{"price": price_id, "quantity": quantity}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": [expand],
            "metadata": dict(metadata or {}),
        }
        key = idem_key or idempotency_key("sub-create", customer_id, price_id, quantity)
        sub = stripe_call(
            "subscriptions.create",
            client.v1.subscriptions.create,
            params=params,
            options={"idempotency_key": key},
        )
        data = sub.to_dict()
        invoice = data.get("latest_invoice") or {}
        if new_shape:
            secret = (invoice.get("confirmation_secret") or {}).get("client_secret")
        else:
            secret = (invoice.get("payment_intent") or {}).get("client_secret")
        return SubscriptionStart(subscription_sync(data).row, secret or None)

    def subscription_cancel(
        self, subscription: Subscription | str, *, at_period_end: bool = False
    ) -> Subscription:
        client = stripe_client()
        sub_id = subscription.stripe_id if isinstance(subscription, Subscription) else subscription
        if at_period_end:
            sub = stripe_call(
                "subscriptions.update",
                client.v1.subscriptions.update,
                sub_id,
                params={"cancel_at_period_end": True},
            )
        else:
            sub = stripe_call("subscriptions.cancel", client.v1.subscriptions.cancel, sub_id)
        return subscription_sync(sub.to_dict()).row

    # --- lists -------------------------------------------------------------------------------

    def list_pages(
        self, resource: str, *, starting_after: str = "", page_size: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint (`customers`, `payment_intents`, `subscriptions`),
        oldest cursor first; each page request is guarded on its own."""
        client = stripe_client()
        service = getattr(client.v1, resource)
        cursor = starting_after
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if resource == "subscriptions":
                params["status"] = "all"
            if cursor:
                params["starting_after"] = cursor
            page = stripe_call(f"{resource}.list", service.list, params=params)
            items = [item.to_dict() for item in page.data]
            if items:
                yield items
                cursor = str(items[-1]["id"])
            if not page.has_more or not items:
                return

    def iter_all(self, resource: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Automatic pagination over a list endpoint."""
        for page in self.list_pages(resource, **kwargs):
            yield from page


# --- what payment events do -------------------------------------------------------------------


def payment_intent_event_apply(
    *, event_type: str, intent: Mapping[str, Any], event_at: datetime | None
) -> SyncResult[Payment]:
    """Apply a `payment_intent.*` event; on succeeded / payment_failed, record the customer's
    email in the same transaction, keyed `payment:<intent>:<outcome>` (at most one ever)."""
    with transaction.atomic():
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
    recipient = payment_recipient(payment)
    context = {
        "payment": payment,
        "amount": f"{payment.amount / 100:.2f}",
        "currency": payment.currency.upper(),
        "order_reference": payment.order_reference or payment.stripe_id,
        "decline_code": payment.decline_code,
    }
    name = "payment_succeeded" if outcome == "succeeded" else "payment_failed"
    content = email_content_render(purpose=f"liaison_payments/email/{name}", context=context)
    return SendGridEmailService().enqueue(
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


def payment_recipient(payment: Payment) -> str:
    if payment.receipt_email:
        return payment.receipt_email
    customer = (
        payment.customer or Customer.objects.filter(stripe_id=payment.stripe_customer_id).first()
    )
    if customer is None:
        return ""
    if customer.email:
        return customer.email
    user = customer.user
    return str(getattr(user, "email", "") or "") if user is not None else ""


# --- reconciliation (manage.py stripe_sync) ---------------------------------------------------

SYNC_RESOURCES: dict[str, tuple[str, Callable[[Mapping[str, Any]], object]]] = {
    "customers": ("customers", customer_sync),
    "payments": ("payment_intents", payment_sync),
    "subscriptions": ("subscriptions", subscription_sync),
}


@dataclass(frozen=True)
class SyncReport:
    resource: str
    pages: int
    objects: int
    resumed_after: str


def stripe_resource_sync(
    *,
    resource: str,
    restart: bool = False,
    page_size: int = 100,
    max_pages: int | None = None,
    progress: Any = None,
) -> SyncReport:
    """Copy every object of `resource` from Stripe's list API into the local models.

    The cursor (last id applied) is saved after each page, so an interrupted run continues
    where it stopped; a completed run starts over next time (or with `restart`). Snapshots
    carry no event time, so they never mask a newer webhook event's ordering check.
    """
    from django.utils import timezone

    from integrations.payments.selectors import stripe_sync_cursor

    if resource not in SYNC_RESOURCES:
        raise ValueError(f"unknown resource {resource!r}; choose from {sorted(SYNC_RESOURCES)}")
    endpoint, apply = SYNC_RESOURCES[resource]
    cursor = stripe_sync_cursor(resource)
    if restart or cursor.completed_at is not None:
        cursor.starting_after = ""
        cursor.objects_synced = 0
        cursor.completed_at = None
        cursor.started_at = timezone.now()
        cursor.save()
    resumed_after = cursor.starting_after
    pages = objects = 0
    for page in PaymentService().list_pages(
        endpoint, starting_after=cursor.starting_after, page_size=page_size
    ):
        with transaction.atomic():
            for item in page:
                apply(item)
            cursor.starting_after = str(page[-1]["id"])
            cursor.objects_synced += len(page)
            cursor.save()
        pages += 1
        objects += len(page)
        if progress is not None:
            progress(f"{resource}: {cursor.objects_synced} synced, after {cursor.starting_after}")
        if max_pages is not None and pages >= max_pages:
            return SyncReport(resource, pages, objects, resumed_after)
    cursor.completed_at = timezone.now()
    cursor.save()
    return SyncReport(resource, pages, objects, resumed_after)
