"""Reads of the payments package (nothing here writes)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from integrations.payments.models import Customer, Payment, StripeSyncCursor, Subscription


def payments_refundable(queryset: QuerySet[Payment]) -> list[Payment]:
    return [payment for payment in queryset if payment.refundable_amount > 0]


def subscriptions_cancelable(queryset: QuerySet[Subscription]) -> list[Subscription]:
    return [subscription for subscription in queryset if subscription.is_cancelable]


def payment_by_order_reference(order_reference: str) -> Payment | None:
    return Payment.objects.filter(order_reference=order_reference).order_by("-id").first()


def customer_of_user(user: Any) -> Customer | None:
    """The user's live Stripe customer, if synced (never a row without a Stripe id)."""
    return (
        Customer.objects.filter(user=user, deleted=False).exclude(stripe_id="").order_by("id")
    ).first()


def stripe_sync_cursor(resource: str) -> StripeSyncCursor | None:
    """Where `stripe_sync <resource>` stands (None before its first run)."""
    return StripeSyncCursor.objects.filter(resource=resource).first()
