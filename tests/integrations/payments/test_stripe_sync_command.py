"""`manage.py stripe_sync` against a local mock of Stripe's list API (`responses` at the Stripe
boundary, through the real SDK): every resource paged with `has_more` / `starting_after`,
objects taken from Stripe's fixture shapes (tests/webhooks/fixtures/stripe/SAAS_EVENTS.md)."""

from __future__ import annotations

import copy
from io import StringIO
from typing import Any

import pytest
import responses
import stripe
from django.core.management import call_command
from django.test import override_settings
from responses import matchers

from integrations.payments.models import (
    CheckoutSession,
    Customer,
    Dispute,
    Invoice,
    Payment,
    Price,
    Product,
    StripeSyncCursor,
    Subscription,
)
from tests.webhooks.handlers.factories import stripe_fixture

pytestmark = pytest.mark.django_db

API = "https://api.stripe.com"
FAKE_KEY = "sk_test_" + "z" * 24

# resource argument → (list path, fixture whose data.object is the listed object, model)
RESOURCES: dict[str, tuple[str, str, Any]] = {
    "products": ("/v1/products", "product.created", Product),
    "prices": ("/v1/prices", "price.created", Price),
    "customers": ("/v1/customers", "customer.updated", Customer),
    "subscriptions": ("/v1/subscriptions", "customer.subscription.resumed", Subscription),
    "invoices": ("/v1/invoices", "invoice.paid", Invoice),
    "payments": ("/v1/payment_intents", "payment_intent.succeeded.no_receipt_email", Payment),
    "checkout_sessions": ("/v1/checkout/sessions", "checkout.session.completed", CheckoutSession),
    "disputes": ("/v1/disputes", "charge.dispute.closed", Dispute),
}


@pytest.fixture(autouse=True)
def _stripe_settings(monkeypatch):
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_sleep_time_seconds", lambda self, n: 0)
    with override_settings(STRIPE_SECRET_KEY=FAKE_KEY, PAYMENTS_SEND_EMAILS=False):
        yield


def listed(fixture: str, *suffixes: str) -> list[dict[str, Any]]:
    """Copies of the fixture's object with ids `<id><suffix>` (distinct objects)."""
    base = stripe_fixture(fixture)["data"]["object"]
    objects = []
    for suffix in suffixes:
        obj = copy.deepcopy(base)
        obj["id"] = f"{base['id']}{suffix}"
        objects.append(obj)
    return objects


def mock_pages(path: str, pages: list[list[dict[str, Any]]], *, extra: dict[str, str]) -> None:
    """Serve `pages` like Stripe: page n+1 only for `starting_after=<last id of page n>`."""
    cursor = ""
    for number, data in enumerate(pages):
        params = {"limit": "2", **extra, **({"starting_after": cursor} if cursor else {})}
        responses.get(
            f"{API}{path}",
            json={
                "object": "list",
                "url": path,
                "has_more": number < len(pages) - 1,
                "data": data,
            },
            match=[matchers.query_param_matcher(params)],
        )
        cursor = data[-1]["id"]


@responses.activate
@pytest.mark.parametrize("resource", list(RESOURCES))
def test_stripe_sync_backfills_every_page_of_a_resource(resource):
    path, fixture, model = RESOURCES[resource]
    objects = listed(fixture, "a", "b", "c")
    extra = {"status": "all"} if resource == "subscriptions" else {}
    mock_pages(path, [objects[:2], objects[2:]], extra=extra)
    out = StringIO()

    call_command("stripe_sync", resource, "--page-size", "2", stdout=out)

    assert set(model.objects.values_list("stripe_id", flat=True)) == {o["id"] for o in objects}
    assert len(responses.calls) == 2
    assert f"starting_after={objects[1]['id']}" in responses.calls[1].request.url
    assert f"{resource}: 3 object(s) in 2 page(s)." in out.getvalue()
    assert StripeSyncCursor.objects.get(resource=resource).completed_at is not None


@responses.activate
def test_stripe_sync_links_what_it_backfills():
    customer = listed("customer.updated", "")
    subscription = listed("customer.subscription.resumed", "")
    invoice = listed("invoice.paid", "")
    product = listed("product.created", "")
    price = listed("price.created", "")
    for path, data in (
        ("/v1/products", product),
        ("/v1/prices", price),
        ("/v1/customers", customer),
        ("/v1/subscriptions", subscription),
        ("/v1/invoices", invoice),
    ):
        extra = {"status": "all"} if path == "/v1/subscriptions" else {}
        mock_pages(path, [data], extra=extra)

    call_command(
        "stripe_sync",
        "products",
        "prices",
        "customers",
        "subscriptions",
        "invoices",
        "--page-size",
        "2",
        stdout=StringIO(),
    )

    row = Invoice.objects.get()
    assert row.customer == Customer.objects.get()
    assert row.subscription == Subscription.objects.get()
    assert Subscription.objects.get().customer == Customer.objects.get()
    assert Price.objects.get().product == Product.objects.get()


@responses.activate
def test_a_backfill_keeps_the_ordering_of_webhook_events(deliver):
    deliver("invoice.paid")
    applied_at = Invoice.objects.get().last_event_at
    mock_pages("/v1/invoices", [listed("invoice.paid", "")], extra={})

    call_command("stripe_sync", "invoices", "--page-size", "2", stdout=StringIO())
    deliver("invoice.finalized")  # older than the paid event, delivered late

    invoice = Invoice.objects.get()
    assert invoice.last_event_at == applied_at  # the snapshot carries no event time
    assert invoice.status == "paid"
