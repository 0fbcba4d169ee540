"""Admin for the Stripe models: synced fields are read-only (Stripe is the source of truth);
actions call `PaymentService` after a confirmation page and report how many rows they touched.

Refunding needs `liaison_payments.refund_payment`, cancelling
`liaison_payments.cancel_subscription` (custom permissions: "change" alone moves no money);
the confirmation flow is `integrations.core.admin_actions.confirmed_action`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from integrations.core.admin_actions import (
    ActionOutcome,
    GuardedActionsMixin,
    confirmed_action,
    has_model_permission,
    rows_apply,
)
from integrations.core.exceptions import IntegrationError
from integrations.payments.exceptions import StripeConfigurationError
from integrations.payments.models import Customer, Payment, StripeSyncCursor, Subscription
from integrations.payments.selectors import payments_refundable, subscriptions_cancelable
from integrations.payments.services import PaymentService


def _synced_fields(model: Any) -> list[str]:
    return [field.name for field in model._meta.fields]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "email", "name", "user", "livemode", "deleted", "synced_at"]
    list_filter = ["livemode", "deleted"]
    search_fields = ["stripe_id", "email", "name", "user__username", "user__email"]
    date_hierarchy = "stripe_created"
    readonly_fields = [f for f in _synced_fields(Customer) if f != "user"]
    raw_id_fields = ["user"]


@admin.register(Payment)
class PaymentAdmin(GuardedActionsMixin, admin.ModelAdmin):
    list_display = [
        "stripe_id",
        "order_reference",
        "amount",
        "currency",
        "status",
        "amount_refunded",
        "livemode",
        "last_event_at",
    ]
    list_filter = ["status", "currency", "livemode"]
    search_fields = ["stripe_id", "order_reference", "stripe_customer_id", "receipt_email"]
    date_hierarchy = "created_at"
    readonly_fields = _synced_fields(Payment)
    actions = ["refund"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "refund")

    @admin.action(description="Refund in full (confirm on the next page)", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        rows = payments_refundable(queryset)

        def perform(payments: Sequence[Payment]) -> ActionOutcome:
            service = PaymentService()
            return rows_apply(
                payments,
                lambda payment: service.refund_create(payment=payment),
                label=lambda payment: payment.stripe_id,
                errors=(IntegrationError, StripeConfigurationError),
            )

        return confirmed_action(
            self,
            request,
            action="refund",
            permission="refund",
            title="Refund these payments?",
            consequence="Each payment is refunded in full at Stripe; this cannot be undone.",
            rows=rows,
            skipped=queryset.count() - len(rows),
            perform=perform,
            done="Refunded {count} row(s).",
        )


@admin.register(Subscription)
class SubscriptionAdmin(GuardedActionsMixin, admin.ModelAdmin):
    list_display = [
        "stripe_id",
        "stripe_customer_id",
        "price_id",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "latest_invoice_status",
        "last_event_at",
    ]
    list_filter = ["status", "cancel_at_period_end", "latest_invoice_status", "livemode"]
    search_fields = ["stripe_id", "stripe_customer_id", "price_id", "customer__email"]
    date_hierarchy = "created_at"
    readonly_fields = _synced_fields(Subscription)
    actions = ["cancel_subscription"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "cancel")

    @admin.action(
        description="Cancel subscription (confirm on the next page)", permissions=["cancel"]
    )
    def cancel_subscription(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> HttpResponse | None:
        rows = subscriptions_cancelable(queryset)
        at_period_end = request.POST.get("when") == "period_end"

        def perform(subscriptions: Sequence[Subscription]) -> ActionOutcome:
            service = PaymentService()
            return rows_apply(
                subscriptions,
                lambda subscription: service.subscription_cancel(
                    subscription, at_period_end=at_period_end
                ),
                label=lambda subscription: subscription.stripe_id,
                errors=(IntegrationError, StripeConfigurationError),
            )

        return confirmed_action(
            self,
            request,
            action="cancel_subscription",
            permission="cancel",
            title="Cancel these subscriptions?",
            consequence=(
                "Each subscription is canceled at Stripe, now or at the end of its current "
                "period as chosen below."
            ),
            rows=rows,
            skipped=queryset.count() - len(rows),
            perform=perform,
            done="Canceled {count} row(s).",
            extra={"offer_period_end": True},
        )


@admin.register(StripeSyncCursor)
class StripeSyncCursorAdmin(admin.ModelAdmin):
    list_display = ["resource", "starting_after", "objects_synced", "started_at", "completed_at"]
    readonly_fields = _synced_fields(StripeSyncCursor)
