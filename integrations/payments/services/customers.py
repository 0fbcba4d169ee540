"""Stripe customers: create, retrieve, update, and the user's customer on first use.

A local `Customer` row only ever comes from a Stripe response or event (`customer_sync`), so
it always has its `stripe_id`; the admin cannot add one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.payments import conf
from integrations.payments.gateway import stripe_call, stripe_client
from integrations.payments.models import Customer
from integrations.payments.selectors import customer_of_user
from integrations.payments.services.idempotency import idempotency_key
from integrations.payments.sync import customer_sync


def customer_create(
    *,
    user: Any = None,
    email: str = "",
    name: str = "",
    metadata: Mapping[str, str] | None = None,
    idem_key: str | None = None,
) -> Customer:
    """Create a Stripe customer (for `user`: its email and name, and its id in the metadata
    key `STRIPE_CUSTOMER_USER_METADATA_KEY`, so webhooks link it back to the user)."""
    client = stripe_client()
    params: dict[str, Any] = {"metadata": dict(metadata or {})}
    if user is not None:
        email = email or getattr(user, "email", "") or ""
        name = name or (user.get_full_name() if hasattr(user, "get_full_name") else "")
        params["metadata"][conf.stripe_customer_user_metadata_key()] = str(user.pk)
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


def customer_retrieve(*, customer_id: str) -> Customer:
    client = stripe_client()
    customer = stripe_call("customers.retrieve", client.v1.customers.retrieve, customer_id)
    return customer_sync(customer.to_dict()).row


def customer_update(*, customer_id: str, params: Mapping[str, Any]) -> Customer:
    client = stripe_client()
    customer = stripe_call(
        "customers.update", client.v1.customers.update, customer_id, params=dict(params)
    )
    return customer_sync(customer.to_dict()).row


def customer_for_user(*, user: Any) -> Customer:
    """The user's Stripe customer, created at Stripe on first use. Never a row without a
    Stripe id (such a row, left by an older version, is ignored)."""
    return customer_of_user(user) or customer_create(user=user)
