"""Stripe event handlers: real-shaped events, duplicated, out of order, retried."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.email.models import EmailMessage
from integrations.payments.models import Customer, Payment, Subscription
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import stripe_event, stripe_fixture
from webhooks.handlers import handlers_for
from webhooks.handlers.stripe import (
    charge_refunded,
    invoice_changed,
    payment_intent_changed,
    subscription_changed,
)

pytestmark = pytest.mark.django_db

PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"


@pytest.fixture
def endpoint():
    return make_endpoint(provider="stripe")


def run(handler, event, capture):
    with capture(execute=True):
        handler(event)


def test_every_documented_event_type_has_a_handler():
    for event_type in (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    ):
        assert handlers_for("stripe", event_type), event_type


def test_succeeded_creates_the_payment_from_the_event_and_emails_once(
    endpoint, django_capture_on_commit_callbacks, capsys
):
    payload = stripe_fixture("payment_intent.succeeded")
    event = stripe_event(payload, endpoint=endpoint)
    run(payment_intent_changed, event, django_capture_on_commit_callbacks)

    payment = Payment.objects.get(stripe_id=PI)
    assert payment.status == "succeeded"
    assert payment.amount == 2000
    assert payment.amount_received == 2000
    assert payment.currency == "usd"
    assert payment.order_reference == "ORD-2001"
    assert payment.last_event_at == datetime.fromtimestamp(1680064028, tz=UTC)
    message = EmailMessage.objects.get()
    assert message.purpose_key == f"payment:{PI}:succeeded"
    assert message.to == ["jenny.rosen@example.com"]
    assert "ORD-2001" in message.subject
    # No SENDGRID_API_KEY: recorded as printed to the console, never silently dropped.
    assert message.transport == EmailMessage.Transport.CONSOLE
    assert "nothing left this machine" in capsys.readouterr().out


def test_duplicate_delivery_and_retried_processing_send_one_email(
    endpoint, django_capture_on_commit_callbacks
):
    payload = stripe_fixture("payment_intent.succeeded")
    first = stripe_event(payload, endpoint=endpoint, event_id="evt_dup_1")
    # Stripe may deliver the same event again under the same id (a replay) or, for
    # the same change, a separate event; the handler is also re-run after a failure.
    second = stripe_event(payload, endpoint=endpoint, event_id="evt_dup_2")
    for event in (first, first, second):
        run(payment_intent_changed, event, django_capture_on_commit_callbacks)

    assert EmailMessage.objects.filter(purpose_key=f"payment:{PI}:succeeded").count() == 1
    assert EmailMessage.objects.count() == 1
    assert Payment.objects.get(stripe_id=PI).status == "succeeded"


def test_older_failure_after_success_is_ignored_and_sends_no_failure_email(
    endpoint, django_capture_on_commit_callbacks
):
    succeeded = stripe_event(stripe_fixture("payment_intent.succeeded"), endpoint=endpoint)
    failed = stripe_event(stripe_fixture("payment_intent.payment_failed"), endpoint=endpoint)
    assert failed.payload["created"] < succeeded.payload["created"]
    run(payment_intent_changed, succeeded, django_capture_on_commit_callbacks)
    run(payment_intent_changed, failed, django_capture_on_commit_callbacks)

    payment = Payment.objects.get(stripe_id=PI)
    assert payment.status == "succeeded"
    assert payment.decline_code == ""
    assert not EmailMessage.objects.filter(purpose_key__endswith=":payment_failed").exists()


def test_failure_then_success_in_order_sends_both_emails_once_each(
    endpoint, django_capture_on_commit_callbacks
):
    failed = stripe_event(stripe_fixture("payment_intent.payment_failed"), endpoint=endpoint)
    succeeded = stripe_event(stripe_fixture("payment_intent.succeeded"), endpoint=endpoint)
    for event in (failed, failed, succeeded, failed):
        run(payment_intent_changed, event, django_capture_on_commit_callbacks)

    payment = Payment.objects.get(stripe_id=PI)
    assert payment.status == "succeeded"
    keys = sorted(EmailMessage.objects.values_list("purpose_key", flat=True))
    assert keys == [f"payment:{PI}:payment_failed", f"payment:{PI}:succeeded"]


def test_failed_payment_records_decline_code(endpoint, django_capture_on_commit_callbacks):
    event = stripe_event(stripe_fixture("payment_intent.payment_failed"), endpoint=endpoint)
    run(payment_intent_changed, event, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(stripe_id=PI)
    assert payment.status == "requires_payment_method"
    assert (payment.failure_code, payment.decline_code) == ("card_declined", "insufficient_funds")
    assert "did not go through" in EmailMessage.objects.get().subject


def test_unknown_customer_without_receipt_email_is_recorded_as_failed_not_dropped(
    endpoint, django_capture_on_commit_callbacks
):
    event = stripe_event(
        stripe_fixture("payment_intent.succeeded"), endpoint=endpoint, receipt_email=None
    )
    run(payment_intent_changed, event, django_capture_on_commit_callbacks)
    message = EmailMessage.objects.get()
    assert message.status == EmailMessage.Status.FAILED
    assert "recipient" in message.last_error


def test_local_customer_email_is_used_when_the_intent_has_none(
    endpoint, django_capture_on_commit_callbacks
):
    Customer.objects.create(stripe_id="cus_NffrFeUfNV2Hib", email="buyer@example.com")
    event = stripe_event(
        stripe_fixture("payment_intent.succeeded"), endpoint=endpoint, receipt_email=None
    )
    run(payment_intent_changed, event, django_capture_on_commit_callbacks)
    assert EmailMessage.objects.get().to == ["buyer@example.com"]
    assert Payment.objects.get().customer.email == "buyer@example.com"


def test_same_second_tie_does_not_regress_a_final_state(
    endpoint, django_capture_on_commit_callbacks
):
    payload = stripe_fixture("payment_intent.succeeded")
    succeeded = stripe_event(payload, endpoint=endpoint, created=1680064028)
    processing = stripe_event(payload, endpoint=endpoint, created=1680064028, status="processing")
    run(payment_intent_changed, succeeded, django_capture_on_commit_callbacks)
    run(payment_intent_changed, processing, django_capture_on_commit_callbacks)
    assert Payment.objects.get().status == "succeeded"


def test_canceled_updates_status(endpoint, django_capture_on_commit_callbacks):
    payload = stripe_fixture("payment_intent.succeeded")
    payload["type"] = "payment_intent.canceled"
    event = stripe_event(
        payload, endpoint=endpoint, status="canceled", cancellation_reason="abandoned"
    )
    run(payment_intent_changed, event, django_capture_on_commit_callbacks)
    assert Payment.objects.get().status == "canceled"
    assert not EmailMessage.objects.exists()


def test_refunds_only_grow_whatever_the_order(endpoint):
    payload = stripe_fixture("charge.refunded")
    full = stripe_event(payload, endpoint=endpoint, amount_refunded=2000, refunded=True)
    partial = stripe_event(payload, endpoint=endpoint, created=payload["created"] - 10)
    charge_refunded(full)
    charge_refunded(partial)
    payment = Payment.objects.get(stripe_id=PI)
    assert payment.amount_refunded == 2000
    assert payment.status == "succeeded"  # created from the charge: captured means succeeded
    assert payment.order_reference == "ORD-2001"


def test_subscription_update_reads_period_end_from_items_and_ignores_older(endpoint):
    payload = stripe_fixture("customer.subscription.updated")
    newer = stripe_event(payload, endpoint=endpoint)
    older = stripe_event(
        payload,
        endpoint=endpoint,
        created=payload["created"] - 60,
        cancel_at_period_end=False,
        status="incomplete",
    )
    subscription_changed(newer)
    subscription_changed(older)
    sub = Subscription.objects.get(stripe_id="sub_1NG8Du2eZvKYlo2CHn3n0aTj")
    assert sub.status == "active"
    assert sub.cancel_at_period_end is True
    assert sub.price_id == "price_1NG8Ds2eZvKYlo2C8Qv2Vf5B"
    assert sub.current_period_end == datetime.fromtimestamp(1688681970, tz=UTC)
    assert sub.stripe_customer_id == "cus_NffrFeUfNV2Hib"


def test_subscription_deleted_marks_canceled(endpoint):
    payload = stripe_fixture("customer.subscription.updated")
    subscription_changed(stripe_event(payload, endpoint=endpoint))
    payload["type"] = "customer.subscription.deleted"
    deleted = stripe_event(
        payload,
        endpoint=endpoint,
        created=payload["created"] + 100,
        status="canceled",
        canceled_at=payload["created"] + 100,
    )
    subscription_changed(deleted)
    sub = Subscription.objects.get()
    assert sub.status == "canceled"
    assert sub.canceled_at is not None


def test_invoice_events_record_the_latest_outcome_on_the_subscription(endpoint):
    payload = stripe_fixture("invoice.payment_failed")
    failed = stripe_event(payload, endpoint=endpoint)
    payload["type"] = "invoice.paid"
    paid = stripe_event(payload, endpoint=endpoint, created=payload["created"] + 50, status="paid")
    invoice_changed(paid)
    invoice_changed(failed)  # older: must not overwrite "paid"
    sub = Subscription.objects.get(stripe_id="sub_1NG8Du2eZvKYlo2CHn3n0aTj")
    assert sub.latest_invoice_status == "paid"
    assert sub.latest_invoice_id == "in_1NG8Du2eZvKYlo2CaW0YtWhz"


def test_legacy_invoice_shape_with_top_level_subscription(endpoint):
    payload = stripe_fixture("invoice.payment_failed")
    del payload["data"]["object"]["parent"]
    invoice_changed(stripe_event(payload, endpoint=endpoint, subscription="sub_legacy_1"))
    assert Subscription.objects.get().stripe_id == "sub_legacy_1"
    assert Subscription.objects.get().latest_invoice_status == "payment_failed"
