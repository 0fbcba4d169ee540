"""The Stripe admin pages: read-only (no Add, Save or Delete), amounts in currency units,
links to Stripe's dashboard by mode, cross-links and links to the webhook events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.payments.models import (
    CheckoutSession,
    Customer,
    Dispute,
    Invoice,
    Payment,
    Price,
    Product,
    Subscription,
)
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

MODELS = [Customer, Payment, Subscription, Invoice, CheckoutSession, Dispute, Product, Price]


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def world(deliver):
    for name in (
        "product.created",
        "price.created",
        "customer.created",
        "customer.subscription.resumed",
        "invoice.paid",
        "payment_intent.succeeded.no_receipt_email",
        "checkout.session.completed",
        "charge.dispute.created",
    ):
        assert deliver(name) == "processed"
    return Customer.objects.get()


def url(model, action="changelist", *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{action}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_synced_rows_have_no_add_save_or_delete(staff_client, world, model):
    row = model.objects.get()
    changelist = staff_client.get(url(model))
    page = staff_client.get(url(model, "change", row.pk))

    assert changelist.status_code == page.status_code == 200
    assert url(model, "add").encode() not in changelist.content
    assert b'value="delete_selected"' not in changelist.content
    assert b'name="_save"' not in page.content
    assert b'name="_continue"' not in page.content
    assert url(model, "delete", row.pk).encode() not in page.content
    assert staff_client.get(url(model, "add")).status_code == 403
    assert staff_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert staff_client.post(url(model, "change", row.pk), {}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (Customer, "customers"),
        (Payment, "payments"),
        (Subscription, "subscriptions"),
        (Invoice, "invoices"),
        (CheckoutSession, "checkout/sessions"),
        (Dispute, "disputes"),
        (Product, "products"),
        (Price, "prices"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_dashboard_link_by_livemode(staff_client, world, model, path):
    row = model.objects.get()
    test_link = f"https://dashboard.stripe.com/test/{path}/{row.stripe_id}"
    assert test_link.encode() in staff_client.get(url(model, "change", row.pk)).content

    model.objects.filter(pk=row.pk).update(livemode=True)
    live = staff_client.get(url(model, "change", row.pk)).content
    assert f"https://dashboard.stripe.com/{path}/{row.stripe_id}".encode() in live
    assert b"dashboard.stripe.com/test/" not in live


def test_amounts_in_currency_units(staff_client, world):
    Payment.objects.create(stripe_id="pi_yen", amount=4200, currency="jpy", status="succeeded")
    payments = staff_client.get(url(Payment)).content.decode()
    assert "$10.99" in payments
    assert "¥4,200" in payments
    assert "4200 jpy" not in payments.lower()
    assert "$10.00" in staff_client.get(url(Invoice)).content.decode()
    assert "$20.00 / month" in staff_client.get(url(Price)).content.decode()


def test_customer_page_links_its_subscriptions_invoices_payments_and_events(staff_client, world):
    page = staff_client.get(url(Customer, "change", world.pk)).content.decode()

    for model in (Subscription, Invoice, Payment, CheckoutSession):
        row = model.objects.get()
        assert row.customer == world
        assert url(model, "change", row.pk) in page
    events = reverse("admin:liaison_webhooks_webhookevent_changelist")
    assert f"{events}?q={world.stripe_id}" in page


def test_cross_links_between_invoice_subscription_payment_and_dispute(staff_client, world):
    invoice, sub = Invoice.objects.get(), Subscription.objects.get()
    payment, dispute = Payment.objects.get(), Dispute.objects.get()
    invoice_page = staff_client.get(url(Invoice, "change", invoice.pk)).content.decode()
    assert url(Subscription, "change", sub.pk) in invoice_page
    assert url(Customer, "change", world.pk) in invoice_page
    sub_page = staff_client.get(url(Subscription, "change", sub.pk)).content.decode()
    assert url(Invoice, "change", invoice.pk) in sub_page
    payment_page = staff_client.get(url(Payment, "change", payment.pk)).content.decode()
    assert url(Dispute, "change", dispute.pk) in payment_page
    session_page = staff_client.get(
        url(CheckoutSession, "change", CheckoutSession.objects.get().pk)
    ).content.decode()
    assert url(Payment, "change", payment.pk) in session_page


def test_the_events_link_finds_the_events_that_changed_the_row(staff_client, world):
    invoice = Invoice.objects.get()
    events = reverse("admin:liaison_webhooks_webhookevent_changelist")
    page = staff_client.get(url(Invoice, "change", invoice.pk)).content.decode()
    assert f"{events}?q={invoice.stripe_id}" in page
    # As ingest does (`WebhookProvider.event_subject`): the subject is `data.object.id`.
    for event in WebhookEvent.objects.all():
        WebhookEvent.objects.filter(pk=event.pk).update(
            subject=event.payload["data"]["object"]["id"]
        )
    paid = WebhookEvent.objects.get(event_type="invoice.paid")
    other = WebhookEvent.objects.get(event_type="customer.created")

    found = staff_client.get(f"{events}?q={invoice.stripe_id}").content.decode()

    assert paid.event_id in found
    assert other.event_id not in found


def test_a_view_only_user_sees_the_page_but_cannot_refund(client, django_user_model, world):
    user = django_user_model.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(user)
    page = client.get(url(Payment))
    assert page.status_code == 200
    assert b'value="refund"' not in page.content
