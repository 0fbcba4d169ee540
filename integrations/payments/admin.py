"""Admin for the Stripe models: synced fields are read-only (Stripe is the source of truth);
actions call `PaymentService` after a confirmation page and report how many rows they touched.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from integrations.core.exceptions import IntegrationError
from integrations.payments.exceptions import StripeConfigurationError
from integrations.payments.models import Customer, Payment, StripeSyncCursor, Subscription
from integrations.payments.selectors import payments_refundable, subscriptions_cancelable
from integrations.payments.services import PaymentService


def _synced_fields(model: Any) -> list[str]:
    return [field.name for field in model._meta.fields]


def _confirm(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    action: str,
    title: str,
    rows: list[Any],
    skipped: int,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "action": action,
        "rows": rows,
        "skipped": skipped,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        **(extra or {}),
    }
    return TemplateResponse(request, "liaison_core/admin/confirm_action.html", context)


def _report(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, verb: str, done: int, errors: list[str]
) -> None:
    modeladmin.message_user(request, f"{verb} {done} row(s).", messages.SUCCESS)
    for error in errors:
        modeladmin.message_user(request, error, messages.ERROR)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "email", "name", "user", "livemode", "deleted", "synced_at"]
    list_filter = ["livemode", "deleted"]
    search_fields = ["stripe_id", "email", "name", "user__username", "user__email"]
    date_hierarchy = "stripe_created"
    readonly_fields = [f for f in _synced_fields(Customer) if f != "user"]
    raw_id_fields = ["user"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
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

    @admin.action(description="Refund in full (confirm on the next page)")
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        rows = payments_refundable(queryset)
        if request.POST.get("confirmed") != "yes":
            return _confirm(
                self,
                request,
                action="refund",
                title="Refund these payments?",
                rows=rows,
                skipped=queryset.count() - len(rows),
            )
        done, errors = 0, []
        service = PaymentService()
        for payment in rows:
            try:
                service.refund_create(payment=payment)
            except (IntegrationError, StripeConfigurationError) as exc:
                errors.append(f"{payment.stripe_id}: {exc}")
                continue
            done += 1
        _report(self, request, "Refunded", done, errors)
        return None


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
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

    @admin.action(description="Cancel subscription (confirm on the next page)")
    def cancel_subscription(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> HttpResponse | None:
        rows = subscriptions_cancelable(queryset)
        if request.POST.get("confirmed") != "yes":
            return _confirm(
                self,
                request,
                action="cancel_subscription",
                title="Cancel these subscriptions?",
                rows=rows,
                skipped=queryset.count() - len(rows),
                extra={"offer_period_end": True},
            )
        at_period_end = request.POST.get("when") == "period_end"
        done, errors = 0, []
        service = PaymentService()
        for subscription in rows:
            try:
                service.subscription_cancel(subscription, at_period_end=at_period_end)
            except (IntegrationError, StripeConfigurationError) as exc:
                errors.append(f"{subscription.stripe_id}: {exc}")
                continue
            done += 1
        _report(self, request, "Canceled", done, errors)
        return None


@admin.register(StripeSyncCursor)
class StripeSyncCursorAdmin(admin.ModelAdmin):
    list_display = ["resource", "starting_after", "objects_synced", "started_at", "completed_at"]
    readonly_fields = _synced_fields(StripeSyncCursor)
