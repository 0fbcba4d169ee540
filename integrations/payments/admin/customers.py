"""Customers: who they are at Stripe, their user, and everything of theirs synced here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from integrations.payments.admin.display import (
    RELATED_LIMIT,
    StripeObjectAdmin,
    admin_search_url,
    related_list,
)
from integrations.payments.models import CheckoutSession, Customer, Invoice, Payment, Subscription
from integrations.payments.money import amount_format


@admin.register(Customer)
class CustomerAdmin(StripeObjectAdmin):
    dashboard_path = "customers"
    list_display = [
        "stripe_id",
        "email",
        "name",
        "user_link",
        "livemode",
        "deleted",
        "dashboard_link",
        "synced_at",
    ]
    list_filter = ["livemode", "deleted"]
    list_select_related = ["user"]
    search_fields = ["=stripe_id", "email", "name", "user__username", "user__email"]
    date_hierarchy = "stripe_created"
    readonly_fields = [
        "dashboard_link",
        "events_link",
        "user_link",
        "subscriptions_related",
        "invoices_related",
        "payments_related",
        "checkout_sessions_related",
    ]
    fieldsets = [
        (None, {"fields": ["stripe_id", "dashboard_link", "email", "name", "user_link"]}),
        (
            "Related",
            {
                "fields": [
                    "subscriptions_related",
                    "invoices_related",
                    "payments_related",
                    "checkout_sessions_related",
                    "events_link",
                ]
            },
        ),
        (
            "Stripe",
            {"fields": ["livemode", "deleted", "metadata", "stripe_created", "last_event_at"]},
        ),
    ]

    @admin.display(description="user")
    def user_link(self, obj: Customer) -> str:
        if obj.user is None:
            return "-"
        opts = obj.user._meta
        try:
            from django.urls import reverse

            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.user.pk])
        except Exception:
            return str(obj.user)
        return format_html('<a href="{}">{}</a>', url, obj.user)

    @admin.display(description="subscriptions")
    def subscriptions_related(self, obj: Customer) -> Any:
        return related_list(
            obj.subscriptions.all()[:RELATED_LIMIT],
            label=lambda s: f"{s.stripe_id} · {s.status}",
            more_url=admin_search_url(Subscription, obj.stripe_id),
        )

    @admin.display(description="invoices")
    def invoices_related(self, obj: Customer) -> Any:
        return related_list(
            obj.invoices.all()[:RELATED_LIMIT],
            label=lambda i: (
                f"{i} · {amount_format(amount=i.total, currency=i.currency)} · {i.status}"
            ),
            more_url=admin_search_url(Invoice, obj.stripe_id),
        )

    @admin.display(description="payments")
    def payments_related(self, obj: Customer) -> Any:
        return related_list(
            obj.payments.all()[:RELATED_LIMIT],
            label=lambda p: (
                f"{p.stripe_id} · {amount_format(amount=p.amount, currency=p.currency)}"
                f" · {p.status}"
            ),
            more_url=admin_search_url(Payment, obj.stripe_id),
        )

    @admin.display(description="checkout sessions")
    def checkout_sessions_related(self, obj: Customer) -> Any:
        return related_list(
            obj.checkout_sessions.all()[:RELATED_LIMIT],
            label=lambda c: f"{c.stripe_id[:24]}… · {c.status}",
            more_url=admin_search_url(CheckoutSession, obj.stripe_id),
        )


__all__ = ["CustomerAdmin"]
