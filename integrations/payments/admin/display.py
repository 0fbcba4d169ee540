"""How the Stripe admin pages show things: amounts in currency units, links to Stripe's
dashboard, to the related local rows and to the webhook events that changed a row.

Every page of a synced object is read-only (Stripe is the source of truth): no Add, no Save,
no Delete — `StripeObjectAdmin` answers no to those permissions whoever asks, so Django shows
a view page with a Close button only. Actions that change something at Stripe (refund,
cancel) have permissions of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from integrations.payments.money import amount_format

DASHBOARD = "https://dashboard.stripe.com/"
# Related rows listed on a change page; the "all" link shows the rest.
RELATED_LIMIT = 10


def dashboard_url(*, path: str, stripe_id: str, livemode: bool) -> str:
    """`https://dashboard.stripe.com/[test/]<path>/<id>` (test-mode objects live under test/)."""
    return f"{DASHBOARD}{'' if livemode else 'test/'}{path}/{stripe_id}"


def admin_change_url(row: Model) -> str:
    opts = row._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])


def admin_search_url(model: type[Model], query: str) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode({'q': query})}"


def webhook_events_url(stripe_id: str) -> str:
    """The webhook event list searched for this object's id (the events that changed it)."""
    return (
        f"{reverse('admin:liaison_webhooks_webhookevent_changelist')}?{urlencode({'q': stripe_id})}"
    )


def row_link(row: Model | None, label: str | None = None) -> str:
    if row is None:
        return "-"
    return format_html('<a href="{}">{}</a>', admin_change_url(row), label or str(row))


def related_list(
    rows: Iterable[Any], *, label: Any, more_url: str, total: int | None = None
) -> SafeString | str:
    """Links to the related rows (each labelled by `label(row)`) and one to all of them."""
    items = list(rows)
    if not items:
        return "-"
    links = format_html_join(
        "", '<li><a href="{}">{}</a></li>', ((admin_change_url(r), label(r)) for r in items)
    )
    more = format_html('<li><a href="{}">All &rarr;</a></li>', more_url)
    return format_html('<ul class="liaison-related">{}{}</ul>', links, more)


class StripeObjectAdmin(admin.ModelAdmin):
    """Read-only admin of a synced Stripe object (see the module docstring)."""

    # `<path>` in `https://dashboard.stripe.com/[test/]<path>/<id>`.
    dashboard_path = ""
    amount_field = ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            *(f.name for f in self.model._meta.fields),
            *(name for name in self.readonly_fields if name not in self._field_names()),
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Declared fieldsets, else: what a person reads first (the id, the link to Stripe,
        amounts and links to related rows), then Stripe's data as synced (related rows are
        already links above; amounts there are in minor units, as Stripe sends them)."""
        if self.fieldsets:
            return self.fieldsets
        links = {"dashboard_link", "events_link"}
        summary = [
            "stripe_id",
            "dashboard_link",
            *(name for name in self.readonly_fields if name not in links),
            "events_link",
        ]
        data = [
            f.name
            for f in self.model._meta.fields
            if f.name not in ("id", "stripe_id") and not f.is_relation
        ]
        return [(None, {"fields": summary}), ("Stripe data", {"fields": data})]

    def _field_names(self) -> set[str]:
        return {f.name for f in self.model._meta.fields}

    @admin.display(description="Stripe")
    def dashboard_link(self, obj: Any) -> str:
        return format_html(
            '<a class="stripe-dashboard" href="{}" target="_blank" rel="noopener noreferrer">'
            "Stripe &#8599;</a>",
            dashboard_url(path=self.dashboard_path, stripe_id=obj.stripe_id, livemode=obj.livemode),
        )

    @admin.display(description="Webhook events")
    def events_link(self, obj: Any) -> str:
        return format_html(
            '<a class="webhook-events" href="{}">Events for {}</a>',
            webhook_events_url(obj.stripe_id),
            obj.stripe_id,
        )

    @admin.display(description="amount")
    def amount_display(self, obj: Any) -> str:
        return amount_format(amount=getattr(obj, self.amount_field), currency=obj.currency)

    @admin.display(description="customer")
    def customer_link(self, obj: Any) -> str:
        customer = getattr(obj, "customer", None)
        if customer is not None:
            return row_link(customer, customer.email or customer.stripe_id)
        return getattr(obj, "stripe_customer_id", "") or "-"
