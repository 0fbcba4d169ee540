"""Every value Stripe documents fits the payment models, on SQLite and PostgreSQL: metadata
values of 500 characters, emails of 512, open-ended codes, and text with NUL in it."""

from __future__ import annotations

import json

import pytest

from integrations.payments.models import Customer, Payment
from integrations.payments.sync import customer_sync
from tests.webhooks.factories import make_endpoint, make_event
from tests.webhooks.handlers.factories import stripe_event, stripe_fixture
from webhooks.models import WebhookEvent
from webhooks.services.processing import webhook_event_process

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status

PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
# Stripe: metadata keys up to 40 characters, values up to 500.
LONGEST_KEY = "k" * 40
LONGEST_VALUE = "ORD-" + "9" * 496


def _processed(event: WebhookEvent) -> WebhookEvent:
    webhook_event_process(event_pk=event.pk)
    event.refresh_from_db()
    assert (event.status, event.last_error) == (Status.PROCESSED, "")
    return event


def test_a_500_character_order_reference_is_stored_whole():
    endpoint = make_endpoint(provider="stripe")
    metadata = {"order_reference": LONGEST_VALUE, LONGEST_KEY: LONGEST_VALUE}
    _processed(
        stripe_event(
            stripe_fixture("payment_intent.succeeded"), endpoint=endpoint, metadata=metadata
        )
    )

    payment = Payment.objects.get(stripe_id=PI)
    assert payment.order_reference == LONGEST_VALUE
    assert payment.metadata == metadata


def test_long_decline_codes_and_a_506_character_receipt_email_are_stored():
    endpoint = make_endpoint(provider="stripe")
    payload = stripe_fixture("payment_intent.payment_failed")
    error = {**payload["data"]["object"]["last_payment_error"]}
    error.update(code="c" * 300, decline_code="d" * 300)
    email = "a" * 64 + "@" + ("b" * 61 + ".") * 7 + "example"
    assert 500 < len(email) <= 512
    _processed(
        stripe_event(payload, endpoint=endpoint, last_payment_error=error, receipt_email=email)
    )

    payment = Payment.objects.get(stripe_id=PI)
    assert (payment.failure_code, payment.decline_code) == ("c" * 300, "d" * 300)
    assert payment.receipt_email == email


def test_a_256_character_customer_name_is_stored():
    customer_sync({"id": "cus_NffrFeUfNV2Hib", "object": "customer", "name": "N" * 256})

    assert Customer.objects.get(stripe_id="cus_NffrFeUfNV2Hib").name == "N" * 256


def test_nul_in_a_description_and_a_metadata_value_is_processed():
    endpoint = make_endpoint(provider="stripe")
    payload = stripe_fixture("payment_intent.succeeded")
    payload["data"]["object"].update(
        description="Order\x00 ORD-2001", metadata={"order_reference": "ORD\x00-2001"}
    )
    _processed(
        make_event(
            endpoint=endpoint,
            event_type=payload["type"],
            event_id=payload["id"],
            body=json.dumps(payload).encode(),
        )
    )

    payment = Payment.objects.get(stripe_id=PI)
    assert (payment.description, payment.order_reference) == ("Order ORD-2001", "ORD-2001")
    assert payment.metadata == {"order_reference": "ORD-2001"}


def test_nul_in_a_refunded_charge_is_processed():
    endpoint = make_endpoint(provider="stripe")
    payload = stripe_fixture("charge.refunded")
    payload["data"]["object"]["metadata"] = {"order_reference": "\x00ORD-2001", "note": "\x00"}
    _processed(stripe_event(payload, endpoint=endpoint))

    payment = Payment.objects.get(stripe_id=payload["data"]["object"]["payment_intent"])
    assert payment.metadata == {"order_reference": "ORD-2001", "note": ""}
