"""Payments (with the refund action), disputes and Checkout Sessions."""

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
from integrations.payments.admin.display import (
    RELATED_LIMIT,
    StripeObjectAdmin,
    admin_search_url,
    related_list,
    row_link,
)
from integrations.payments.exceptions import StripeConfigurationError
from integrations.payments.models import CheckoutSession, Dispute, Payment, Subscription
from integrations.payments.money import amount_format
from integrations.payments.selectors import payments_refundable
from integrations.payments.services import refund_create


@admin.register(Payment)
class PaymentAdmin(GuardedActionsMixin, StripeObjectAdmin):
    dashboard_path = "payments"
    amount_field = "amount"
    list_display = [
        "stripe_id",
        "order_reference",
        "amount_display",
        "refunded_display",
        "status",
        "customer_link",
        "dashboard_link",
        "last_event_at",
    ]
    list_filter = ["status", "currency", "livemode"]
    list_select_related = ["customer"]
    search_fields = ["=stripe_id", "order_reference", "=stripe_customer_id", "receipt_email"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "dashboard_link",
        "events_link",
        "amount_display",
        "refunded_display",
        "customer_link",
        "disputes_related",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "stripe_id",
                    "dashboard_link",
                    "amount_display",
                    "refunded_display",
                    "status",
                    "customer_link",
                    "order_reference",
                    "description",
                    "receipt_email",
                ]
            },
        ),
        ("Related", {"fields": ["disputes_related", "events_link"]}),
        (
            "Stripe",
            {
                "fields": [
                    "amount",
                    "amount_received",
                    "amount_refunded",
                    "currency",
                    "stripe_customer_id",
                    "failure_code",
                    "decline_code",
                    "livemode",
                    "metadata",
                    "stripe_created",
                    "last_event_at",
                ]
            },
        ),
    ]
    actions = ["refund"]

    @admin.display(description="refunded")
    def refunded_display(self, obj: Payment) -> str:
        if not obj.amount_refunded:
            return "-"
        return amount_format(amount=obj.amount_refunded, currency=obj.currency)

    @admin.display(description="disputes")
    def disputes_related(self, obj: Payment) -> Any:
        return related_list(
            obj.disputes.all()[:RELATED_LIMIT],
            label=lambda d: f"{d.stripe_id} · {d.status}",
            more_url=admin_search_url(Dispute, obj.stripe_id),
        )

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "refund")

    @admin.action(description="Refund in full (confirm on the next page)", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        rows = payments_refundable(queryset)

        def perform(payments: Sequence[Payment]) -> ActionOutcome:
            return rows_apply(
                payments,
                lambda payment: refund_create(payment=payment),
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


@admin.register(Dispute)
class DisputeAdmin(StripeObjectAdmin):
    dashboard_path = "disputes"
    amount_field = "amount"
    list_display = [
        "stripe_id",
        "amount_display",
        "reason",
        "status",
        "payment_link",
        "evidence_due_by",
        "dashboard_link",
        "last_event_at",
    ]
    list_filter = ["status", "livemode"]
    list_select_related = ["payment"]
    search_fields = ["=stripe_id", "=stripe_payment_intent_id", "=stripe_charge_id"]
    date_hierarchy = "stripe_created"
    readonly_fields = ["dashboard_link", "events_link", "amount_display", "payment_link"]

    @admin.display(description="payment")
    def payment_link(self, obj: Dispute) -> str:
        return row_link(obj.payment) if obj.payment else obj.stripe_payment_intent_id or "-"


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(StripeObjectAdmin):
    dashboard_path = "checkout/sessions"
    amount_field = "amount_total"
    list_display = [
        "stripe_id",
        "mode",
        "status",
        "payment_status",
        "amount_display",
        "customer_link",
        "client_reference_id",
        "dashboard_link",
        "last_event_at",
    ]
    list_filter = ["status", "payment_status", "mode", "livemode"]
    list_select_related = ["customer"]
    search_fields = [
        "=stripe_id",
        "=stripe_customer_id",
        "customer_email",
        "client_reference_id",
        "=stripe_payment_intent_id",
        "=stripe_subscription_id",
    ]
    date_hierarchy = "stripe_created"
    readonly_fields = [
        "dashboard_link",
        "events_link",
        "amount_display",
        "customer_link",
        "payment_link",
        "subscription_link",
    ]

    @admin.display(description="payment")
    def payment_link(self, obj: CheckoutSession) -> str:
        if not obj.stripe_payment_intent_id:
            return "-"
        payment = Payment.objects.filter(stripe_id=obj.stripe_payment_intent_id).first()
        return row_link(payment) if payment else obj.stripe_payment_intent_id

    @admin.display(description="subscription")
    def subscription_link(self, obj: CheckoutSession) -> str:
        if not obj.stripe_subscription_id:
            return "-"
        sub = Subscription.objects.filter(stripe_id=obj.stripe_subscription_id).first()
        return row_link(sub) if sub else obj.stripe_subscription_id
