"""Reads of the payments package."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.payments.models import Payment, StripeSyncCursor, Subscription


def payments_refundable(queryset: QuerySet[Payment]) -> list[Payment]:
    return [payment for payment in queryset if payment.refundable_amount > 0]


def subscriptions_cancelable(queryset: QuerySet[Subscription]) -> list[Subscription]:
    return [subscription for subscription in queryset if subscription.is_cancelable]


def payment_by_order_reference(order_reference: str) -> Payment | None:
    return Payment.objects.filter(order_reference=order_reference).order_by("-id").first()


def stripe_sync_cursor(resource: str) -> StripeSyncCursor:
    cursor, _ = StripeSyncCursor.objects.get_or_create(resource=resource)
    return cursor
