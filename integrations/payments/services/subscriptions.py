"""Subscriptions at Stripe: start one, cancel one.

API version pinned in `conf.DEFAULT_STRIPE_API_VERSION`: since 2025-03-31 an invoice no longer
has `payment_intent`; the client secret for a `default_incomplete` subscription is
`latest_invoice.confirmation_secret.client_secret`, which is what we expand. For an older
pinned version we expand `latest_invoice.payment_intent` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrations.payments import conf
from integrations.payments.gateway import stripe_call, stripe_client
from integrations.payments.models import Customer, Subscription
from integrations.payments.services.idempotency import idempotency_key
from integrations.payments.sync import subscription_sync

# The first API version where invoices carry `confirmation_secret` instead of `payment_intent`.
CONFIRMATION_SECRET_SINCE = "2025-03-31"  # noqa: S105 - an API version, not a secret  # nosec B105


@dataclass(frozen=True)
class SubscriptionStart:
    subscription: Subscription
    # For the front end to confirm the first payment (None when nothing is due).
    client_secret: str | None


def subscription_create(
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
    expand = "latest_invoice.confirmation_secret" if new_shape else "latest_invoice.payment_intent"
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
    *, subscription: Subscription | str, at_period_end: bool = False
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
