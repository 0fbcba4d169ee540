"""Subscriptions (with the cancel action), invoices, products, prices and the sync cursor."""

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
from integrations.payments.models import Invoice, Price, Product, StripeSyncCursor, Subscription
from integrations.payments.money import amount_format
from integrations.payments.selectors import subscriptions_cancelable
from integrations.payments.services import subscription_cancel


@admin.register(Subscription)
class SubscriptionAdmin(GuardedActionsMixin, StripeObjectAdmin):
    dashboard_path = "subscriptions"
    list_display = [
        "stripe_id",
        "customer_link",
        "price_id",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "latest_invoice_status",
        "dashboard_link",
        "last_event_at",
    ]
    list_filter = ["status", "cancel_at_period_end", "latest_invoice_status", "livemode"]
    list_select_related = ["customer"]
    search_fields = ["=stripe_id", "=stripe_customer_id", "=price_id", "customer__email"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "dashboard_link",
        "events_link",
        "customer_link",
        "invoices_related",
        "latest_invoice_link",
    ]
    actions = ["cancel_subscription"]

    @admin.display(description="invoices")
    def invoices_related(self, obj: Subscription) -> Any:
        return related_list(
            obj.invoices.all()[:RELATED_LIMIT],
            label=lambda i: (
                f"{i} · {amount_format(amount=i.total, currency=i.currency)} · {i.status}"
            ),
            more_url=admin_search_url(Invoice, obj.stripe_id),
        )

    @admin.display(description="latest invoice")
    def latest_invoice_link(self, obj: Subscription) -> str:
        if not obj.latest_invoice_id:
            return "-"
        invoice = Invoice.objects.filter(stripe_id=obj.latest_invoice_id).first()
        return row_link(invoice) if invoice else obj.latest_invoice_id

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
            return rows_apply(
                subscriptions,
                lambda subscription: subscription_cancel(
                    subscription=subscription, at_period_end=at_period_end
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


@admin.register(Invoice)
class InvoiceAdmin(StripeObjectAdmin):
    dashboard_path = "invoices"
    amount_field = "total"
    list_display = [
        "stripe_id",
        "number",
        "amount_display",
        "amount_due_display",
        "status",
        "customer_link",
        "subscription_link",
        "dashboard_link",
        "last_event_at",
    ]
    list_filter = ["status", "billing_reason", "livemode"]
    list_select_related = ["customer", "subscription"]
    search_fields = [
        "=stripe_id",
        "number",
        "=stripe_customer_id",
        "=stripe_subscription_id",
        "customer_email",
    ]
    date_hierarchy = "stripe_created"
    readonly_fields = [
        "dashboard_link",
        "events_link",
        "amount_display",
        "amount_due_display",
        "customer_link",
        "subscription_link",
    ]

    @admin.display(description="amount due")
    def amount_due_display(self, obj: Invoice) -> str:
        return amount_format(amount=obj.amount_due, currency=obj.currency)

    @admin.display(description="subscription")
    def subscription_link(self, obj: Invoice) -> str:
        return row_link(obj.subscription) if obj.subscription else obj.stripe_subscription_id or "-"


@admin.register(Product)
class ProductAdmin(StripeObjectAdmin):
    dashboard_path = "products"
    list_display = ["stripe_id", "name", "active", "deleted", "dashboard_link", "last_event_at"]
    list_filter = ["active", "deleted", "livemode"]
    search_fields = ["=stripe_id", "name"]
    readonly_fields = ["dashboard_link", "events_link", "prices_related"]

    @admin.display(description="prices")
    def prices_related(self, obj: Product) -> Any:
        return related_list(
            obj.prices.all()[:RELATED_LIMIT],
            label=lambda p: f"{p.stripe_id} · {PriceAdmin.price_text(p)}",
            more_url=admin_search_url(Price, obj.stripe_id),
        )


@admin.register(Price)
class PriceAdmin(StripeObjectAdmin):
    dashboard_path = "prices"
    list_display = [
        "stripe_id",
        "product_link",
        "price_display",
        "type",
        "active",
        "lookup_key",
        "dashboard_link",
        "last_event_at",
    ]
    list_filter = ["active", "type", "currency", "livemode"]
    list_select_related = ["product"]
    search_fields = ["=stripe_id", "=stripe_product_id", "lookup_key", "nickname"]
    readonly_fields = ["dashboard_link", "events_link", "product_link", "price_display"]

    @staticmethod
    def price_text(price: Price) -> str:
        amount = amount_format(amount=price.unit_amount, currency=price.currency) or "custom"
        if price.recurring_interval:
            count = price.recurring_interval_count or 1
            every = (
                price.recurring_interval if count == 1 else f"{count} {price.recurring_interval}s"
            )
            return f"{amount} / {every}"
        return amount

    @admin.display(description="price")
    def price_display(self, obj: Price) -> str:
        return self.price_text(obj)

    @admin.display(description="product")
    def product_link(self, obj: Price) -> str:
        return row_link(obj.product, obj.product.name) if obj.product else obj.stripe_product_id


@admin.register(StripeSyncCursor)
class StripeSyncCursorAdmin(admin.ModelAdmin):
    """Where `stripe_sync` stopped; deleting a cursor makes the next run start over."""

    list_display = ["resource", "starting_after", "objects_synced", "started_at", "completed_at"]
    readonly_fields = [f.name for f in StripeSyncCursor._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
