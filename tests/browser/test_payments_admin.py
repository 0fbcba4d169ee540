"""In a real browser: the Stripe admin reads like Stripe's dashboard — amounts in currency
units, links to Stripe's dashboard by mode, cross-links between a customer and its rows and to
the webhook events, and no Save or Delete on synced rows. Data comes from Stripe's fixture
shapes run through the real webhook processing path."""

from __future__ import annotations

import secrets

import pytest
from django.contrib.auth import get_user_model

from integrations.payments.models import Customer, Invoice, Payment, Subscription
from tests.browser.conftest import admin_login, screenshot
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import stripe_event, stripe_fixture
from webhooks.services import webhook_event_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Stripe object ids from Stripe's fixtures (not secrets).
PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"  # pragma: allowlist secret
SUB = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"  # pragma: allowlist secret
INV = "in_1Pgc6tB7WZ01zgkWu9fdqL6I"  # pragma: allowlist secret

EVENTS = (
    "product.created",
    "price.created",
    "customer.created",
    "customer.subscription.resumed",
    "invoice.paid",
    "payment_intent.succeeded.no_receipt_email",
    "checkout.session.completed",
    "charge.dispute.created",
)


@pytest.fixture
def staff_password() -> str:
    password = secrets.token_urlsafe(16)
    get_user_model().objects.create_superuser("ops", "ops@example.com", password)
    return password


@pytest.fixture
def customer(settings) -> Customer:
    settings.PAYMENTS_SEND_EMAILS = False
    endpoint = make_endpoint(provider="stripe", slug="browser-stripe")
    for name in EVENTS:
        event = stripe_event(stripe_fixture(name), endpoint=endpoint)
        assert webhook_event_process(event_pk=event.pk).status == "processed"
    Payment.objects.create(
        stripe_id="pi_yen_browser", amount=4200, currency="jpy", status="succeeded"
    )
    return Customer.objects.get()


def test_payment_list_shows_amounts_in_currency_units_and_dashboard_links(
    page, staff_password, customer
):
    admin_login(page, "ops", staff_password)
    page.goto("/admin/liaison_payments/payment/")

    amounts = page.locator("td.field-amount_display").all_inner_texts()
    assert sorted(amounts) == ["$10.99", "¥4,200"]
    links = page.locator("td.field-dashboard_link a")
    hrefs = sorted(links.nth(i).get_attribute("href") for i in range(links.count()))
    assert hrefs == [
        f"https://dashboard.stripe.com/test/payments/{PI}",
        "https://dashboard.stripe.com/test/payments/pi_yen_browser",
    ]
    assert links.first.get_attribute("target") == "_blank"
    assert page.locator(".object-tools a.addlink").count() == 0
    screenshot(page, "payments-admin-list.png")


def test_live_mode_rows_link_to_the_live_dashboard(page, staff_password, customer):
    Invoice.objects.update(livemode=True)
    admin_login(page, "ops", staff_password)
    page.goto("/admin/liaison_payments/invoice/")

    href = page.locator("td.field-dashboard_link a").first.get_attribute("href")
    assert href == f"https://dashboard.stripe.com/invoices/{INV}"
    assert page.locator("td.field-amount_display").first.inner_text() == "$10.00"


def test_customer_page_cross_links_to_its_rows_and_events(page, staff_password, customer):
    admin_login(page, "ops", staff_password)
    page.goto(f"/admin/liaison_payments/customer/{customer.pk}/change/")

    related = page.locator("ul.liaison-related a")
    texts = related.all_inner_texts()
    assert any(t.startswith(SUB) for t in texts)
    assert any("$10.00" in t and "paid" in t for t in texts)  # the invoice
    assert any(t.startswith(PI) and "$10.99" in t for t in texts)

    page.click(f"text={SUB}")
    sub = Subscription.objects.get()
    assert page.url.endswith(f"/admin/liaison_payments/subscription/{sub.pk}/change/")
    customer_link = page.locator(".field-customer_link a")
    assert customer_link.inner_text() == "jenny.rosen@example.com"

    page.click("a.webhook-events")
    assert "/admin/liaison_webhooks/webhookevent/" in page.url
    assert f"q={SUB}" in page.url
    screenshot(page, "payments-admin-events-of-subscription.png")


def test_synced_rows_have_no_save_or_delete(page, staff_password, customer):
    admin_login(page, "ops", staff_password)
    for path in ("customer", "payment", "subscription", "invoice", "dispute", "checkoutsession"):
        page.goto(f"/admin/liaison_payments/{path}/")
        page.locator("#result_list tbody tr th a").first.click()
        page.wait_for_selector("#content-main")
        assert page.locator("input[name=_save]").count() == 0, path
        assert page.locator("#content-main a.deletelink").count() == 0, path
        assert page.locator("a.stripe-dashboard").count() == 1, path
    screenshot(page, "payments-admin-readonly-checkout.png")
