"""Customers, products, prices, invoices, Checkout Sessions, disputes and the subscription
lifecycle, created and updated from Stripe's own fixture shapes (tests/webhooks/fixtures/
stripe/SAAS_EVENTS.md) through the real processing path: in order, out of order, duplicated,
replayed — with one signal per applied change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
from tests.integrations.payments.conftest import replay_all
from tests.webhooks.handlers.factories import stripe_fixture

pytestmark = pytest.mark.django_db

CUS = "cus_QXg1o8vcGmoR32"
SUB = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"
INV = "in_1Pgc6tB7WZ01zgkWu9fdqL6I"
PROD = "prod_QXg1hqf4jFNsqG"
PRICE = "price_1PgafmB7WZ01zgkW6dKueIc5"  # pragma: allowlist secret
DP = "dp_1Pgc71B7WZ01zgkWMevJiAUx"
PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"  # pragma: allowlist secret
CS = stripe_fixture("checkout.session.completed")["data"]["object"]["id"]


def created_of(name: str) -> int:
    return int(stripe_fixture(name)["created"])


# --- customers -------------------------------------------------------------------------------


def test_customer_created_and_updated_from_events(deliver, sent):
    assert deliver("customer.created") == "processed"
    assert deliver("customer.updated") == "processed"

    customer = Customer.objects.get(stripe_id=CUS)
    assert customer.email == "jenny.rosen@example.com"
    assert customer.name == "Jenny Rosen"
    assert customer.last_event_at == datetime.fromtimestamp(created_of("customer.updated"), UTC)
    assert [s["created"] for s in sent["customer_changed"]] == [True, False]
    assert sent["customer_changed"][0]["event_type"] == "customer.created"


def test_an_older_customer_update_arriving_late_is_ignored(deliver, sent):
    deliver("customer.updated")
    deliver("customer.created")  # older, delivered after

    assert Customer.objects.get(stripe_id=CUS).name == "Jenny Rosen"
    assert len(sent["customer_changed"]) == 1


def test_duplicate_and_replayed_customer_events_send_nothing_more(deliver, sent):
    deliver("customer.created")
    deliver("customer.created")  # same change under a new event id
    replay_all()

    assert Customer.objects.count() == 1
    assert len(sent["customer_changed"]) == 1


def test_customer_deleted_marks_the_row_deleted_once(deliver, sent):
    deliver("customer.created")
    deliver("customer.deleted")
    deliver("customer.deleted")

    customer = Customer.objects.get(stripe_id=CUS)
    assert customer.deleted is True
    assert customer.email == "jenny.rosen@example.com"  # history stays readable
    assert len(sent["customer_deleted"]) == 1
    deliver("customer.updated")  # older than the deletion
    assert Customer.objects.get(stripe_id=CUS).deleted is True


def test_rows_synced_before_their_customer_are_linked_when_it_arrives(deliver):
    deliver("customer.subscription.paused")
    deliver("invoice.created")
    deliver("checkout.session.completed")
    assert Subscription.objects.get(stripe_id=SUB).customer is None

    deliver("customer.created")

    customer = Customer.objects.get(stripe_id=CUS)
    assert Subscription.objects.get(stripe_id=SUB).customer == customer
    assert Invoice.objects.get(stripe_id=INV).customer == customer
    assert CheckoutSession.objects.get(stripe_id=CS).customer == customer


# --- payment confirmation to the customer's address --------------------------------------------


def test_payment_without_receipt_email_is_confirmed_to_the_customers_email(deliver, settings):
    from integrations.email.models import EmailMessage

    settings.PAYMENTS_SEND_EMAILS = True
    deliver("customer.created")
    payload = stripe_fixture("payment_intent.succeeded.no_receipt_email")
    assert payload["data"]["object"]["receipt_email"] is None

    assert deliver("payment_intent.succeeded.no_receipt_email") == "processed"

    message = EmailMessage.objects.get(purpose_key=f"payment:{PI}:succeeded")
    assert message.to == ["jenny.rosen@example.com"]
    assert message.status != EmailMessage.Status.FAILED
    assert Payment.objects.get(stripe_id=PI).customer.stripe_id == CUS


# --- products and prices ---------------------------------------------------------------------


def test_product_and_price_lifecycle(deliver, sent):
    deliver("price.created")  # before its product: linked when the product arrives
    deliver("product.created")
    price = Price.objects.get(stripe_id=PRICE)
    assert price.product == Product.objects.get(stripe_id=PROD)
    assert (price.unit_amount, price.currency, price.recurring_interval) == (2000, "usd", "month")

    deliver("product.updated")
    deliver("price.updated")
    deliver("product.deleted")
    deliver("price.deleted")
    deliver("product.updated")  # late copy of an older change

    product = Product.objects.get(stripe_id=PROD)
    assert (product.name, product.deleted, product.active) == ("T-shirt (organic)", True, False)
    price.refresh_from_db()
    assert (price.nickname, price.deleted) == ("Monthly", True)
    assert len(sent["product_changed"]) == 3  # created, renamed, deleted
    assert len(sent["price_changed"]) == 3


# --- invoices --------------------------------------------------------------------------------


def test_invoice_lifecycle_created_finalized_paid(deliver, sent):
    for name in ("invoice.created", "invoice.finalized", "invoice.paid"):
        assert deliver(name) == "processed"
    deliver("invoice.payment_succeeded")  # same state, same second: nothing new

    invoice = Invoice.objects.get(stripe_id=INV)
    assert invoice.status == "paid"
    assert invoice.number == "7FE1103-0001"
    assert (invoice.amount_paid, invoice.amount_remaining) == (1000, 0)
    assert invoice.stripe_subscription_id == SUB
    assert invoice.paid_at is not None
    changes = [(s["previous_status"], s["invoice"].status) for s in sent["invoice_status_changed"]]
    assert changes == [(None, "draft"), ("draft", "open"), ("open", "paid")]
    assert len(sent["invoice_paid"]) == 1
    # The subscription records the latest invoice outcome too.
    assert Subscription.objects.get(stripe_id=SUB).latest_invoice_status == "paid"


def test_invoice_events_out_of_order_never_roll_back_a_paid_invoice(deliver, sent):
    deliver("invoice.paid")
    deliver("invoice.finalized")  # older
    deliver("invoice.created")  # older still
    # Same second as `paid` (Stripe's clock has whole seconds): still not rolled back.
    deliver("invoice.finalized", created=created_of("invoice.paid"))

    assert Invoice.objects.get(stripe_id=INV).status == "paid"
    assert len(sent["invoice_status_changed"]) == 1
    assert len(sent["invoice_paid"]) == 1


@pytest.mark.parametrize(
    ("name", "status"),
    [("invoice.voided", "void"), ("invoice.marked_uncollectible", "uncollectible")],
)
def test_invoice_voided_or_uncollectible(deliver, sent, name, status):
    deliver("invoice.finalized")
    deliver(name)

    assert Invoice.objects.get(stripe_id=INV).status == status
    assert sent["invoice_status_changed"][-1]["previous_status"] == "open"
    assert sent["invoice_status_changed"][-1]["event_type"] == name


def test_invoice_payment_failed_is_signalled_once_per_attempt(deliver, sent):
    deliver("invoice.payment_failed")
    deliver("invoice.payment_failed", event_id="evt_dup_copy")  # redelivered copy
    replay_all()
    assert len(sent["invoice_payment_failed"]) == 1

    later = created_of("invoice.payment_failed") + 3600
    deliver("invoice.payment_failed", created=later, attempt_count=2)  # Stripe retried
    assert len(sent["invoice_payment_failed"]) == 2
    assert Invoice.objects.get(stripe_id="in_1NG8Du2eZvKYlo2CaW0YtWhz").attempt_count == 2


# --- Checkout Sessions -----------------------------------------------------------------------


def test_checkout_session_completed_paid(deliver, sent):
    assert deliver("checkout.session.completed") == "processed"
    deliver("checkout.session.completed")

    session = CheckoutSession.objects.get(stripe_id=CS)
    assert (session.status, session.payment_status, session.amount_total) == (
        "complete",
        "paid",
        1099,
    )
    assert session.customer_email == "example@example.com"
    assert session.stripe_payment_intent_id == PI
    assert len(sent["checkout_session_completed"]) == 1
    assert len(sent["checkout_session_paid"]) == 1


def test_checkout_session_async_payment_succeeds_later(deliver, sent):
    deliver("checkout.session.completed", payment_status="unpaid")
    assert sent["checkout_session_paid"] == []

    deliver("checkout.session.async_payment_succeeded")

    assert CheckoutSession.objects.get(stripe_id=CS).payment_status == "paid"
    assert len(sent["checkout_session_completed"]) == 1
    assert sent["checkout_session_paid"][0]["event_type"] == (
        "checkout.session.async_payment_succeeded"
    )


def test_checkout_session_async_payment_failed_once(deliver, sent):
    deliver("checkout.session.completed", payment_status="unpaid")
    deliver("checkout.session.async_payment_failed")
    deliver("checkout.session.async_payment_failed")  # duplicate
    deliver("checkout.session.completed", payment_status="unpaid")  # older, late

    assert len(sent["checkout_session_payment_failed"]) == 1
    assert CheckoutSession.objects.get(stripe_id=CS).payment_status == "unpaid"
    assert sent["checkout_session_paid"] == []


def test_checkout_session_expired(deliver, sent):
    deliver("checkout.session.expired")
    deliver("checkout.session.async_payment_failed")  # older than the expiry: ignored

    assert CheckoutSession.objects.get(stripe_id=CS).status == "expired"
    assert len(sent["checkout_session_expired"]) == 1
    assert sent["checkout_session_payment_failed"] == []


# --- disputes --------------------------------------------------------------------------------


def test_dispute_lifecycle_in_and_out_of_order(deliver, sent):
    deliver("payment_intent.succeeded.no_receipt_email")
    deliver("charge.dispute.created")
    deliver("charge.dispute.closed")
    deliver("charge.dispute.updated")  # older than closed
    deliver("charge.dispute.funds_withdrawn")  # older still
    deliver("charge.dispute.closed")  # duplicate

    dispute = Dispute.objects.get(stripe_id=DP)
    assert dispute.status == "won"
    assert dispute.payment == Payment.objects.get(stripe_id=PI)
    assert (dispute.amount, dispute.currency, dispute.reason) == (1000, "usd", "general")
    moves = [(s["previous_status"], s["dispute"].status) for s in sent["dispute_changed"]]
    assert moves == [(None, "needs_response"), ("needs_response", "won")]


def test_dispute_before_its_payment_is_linked_when_the_payment_arrives(deliver):
    deliver("charge.dispute.created")
    assert Dispute.objects.get(stripe_id=DP).payment is None

    deliver("payment_intent.succeeded.no_receipt_email")

    assert Dispute.objects.get(stripe_id=DP).payment.stripe_id == PI


# --- subscription pause / resume / trial end -------------------------------------------------


def test_subscription_paused_then_resumed(deliver, sent):
    deliver("customer.subscription.paused")
    deliver("customer.subscription.resumed")
    deliver("customer.subscription.paused")  # older copy, late

    sub = Subscription.objects.get(stripe_id=SUB)
    assert sub.status == "active"
    assert sub.pause_collection == ""
    assert len(sent["subscription_paused"]) == 1
    assert len(sent["subscription_resumed"]) == 1
    assert sent["subscription_resumed"][0]["event_type"] == "customer.subscription.resumed"


def test_trial_will_end_is_signalled_once_per_trial(deliver, sent):
    deliver("customer.subscription.trial_will_end")
    deliver("customer.subscription.trial_will_end")
    replay_all()

    trial_end = stripe_fixture("customer.subscription.trial_will_end")["data"]["object"][
        "trial_end"
    ]
    assert len(sent["subscription_trial_will_end"]) == 1
    assert sent["subscription_trial_will_end"][0]["trial_end"] == datetime.fromtimestamp(
        trial_end, UTC
    )
    assert Subscription.objects.get(stripe_id=SUB).trial_end is not None


def test_every_handled_event_type_has_a_fixture_and_is_processed(deliver):
    from webhooks.handlers.stripe import HANDLED_EVENT_TYPES

    for event_type in HANDLED_EVENT_TYPES:
        assert deliver(event_type) == "processed", event_type
