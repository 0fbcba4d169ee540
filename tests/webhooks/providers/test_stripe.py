"""Stripe provider: the `stripe` SDK is the reference signer and verifier."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import stripe

from integrations.payments.conf import DEFAULT_STRIPE_API_VERSION
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.providers.samples import sample_event_types

SECRET = "whsec_test_fake_primary"
OLD_SECRET = "whsec_test_fake_previous"
NOW = 1_700_000_000
provider = get_provider("stripe")


def deliver(body: bytes, header: str | None, *, now: float = NOW) -> IncomingDelivery:
    headers = {"Stripe-Signature": header} if header is not None else {}
    return IncomingDelivery(body=body, headers=Headers(headers), received_at=now)


def sdk_header(body: bytes, secret: str = SECRET, timestamp: int = NOW) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)


DOCUMENTED = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
DOC_EVENT_ID = "evt_3MtwBwLkdIwHu7ix0b7Yt8Fq"


@pytest.fixture
def body() -> bytes:
    """Stripe's documented `payment_intent.succeeded` event (tests/webhooks/fixtures/stripe/),
    not a sample of the module under test."""
    return (DOCUMENTED / "payment_intent.succeeded.json").read_bytes()


def test_header_signed_by_the_sdk_verifies(body: bytes) -> None:
    provider.verify(deliver(body, sdk_header(body)), EndpointSecrets(secrets=(SECRET,)))


def test_sdk_accepts_what_sign_produces(body: bytes) -> None:
    now = int(time.time())
    signed = provider.sign(body, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=now)
    event = stripe.Webhook.construct_event(
        signed.body, signed.headers["Stripe-Signature"], SECRET, tolerance=300
    )
    assert event.id == DOC_EVENT_ID
    assert event.type == "payment_intent.succeeded"


def test_sdk_rejects_our_signature_with_another_secret(body: bytes) -> None:
    now = int(time.time())
    signed = provider.sign(body, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=now)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            signed.body, signed.headers["Stripe-Signature"], OLD_SECRET, 300
        )


def test_tampered_body_is_rejected(body: bytes) -> None:
    header = sdk_header(body)
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body.replace(b"2000", b"2001", 1), header), EndpointSecrets(secrets=(SECRET,))
        )


def test_wrong_secret_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, sdk_header(body)), EndpointSecrets(secrets=(OLD_SECRET,)))


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_are_rejected(body: bytes, offset: int) -> None:
    header = sdk_header(body, timestamp=NOW + offset)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(deliver(body, header), EndpointSecrets(secrets=(SECRET,)))


def test_timestamp_at_the_edge_of_tolerance_verifies(body: bytes) -> None:
    header = sdk_header(body, timestamp=NOW - 300)
    provider.verify(deliver(body, header), EndpointSecrets(secrets=(SECRET,)))


def test_endpoint_tolerance_is_used(body: bytes) -> None:
    header = sdk_header(body, timestamp=NOW - 120)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(
            deliver(body, header), EndpointSecrets(secrets=(SECRET,), tolerance_seconds=60)
        )


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_is_rejected(body: bytes, header: str | None) -> None:
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(body, header), EndpointSecrets(secrets=(SECRET,)))


def test_rotated_secret_verifies(body: bytes) -> None:
    header = sdk_header(body, secret=OLD_SECRET)
    provider.verify(deliver(body, header), EndpointSecrets(secrets=(SECRET, OLD_SECRET)))


def test_header_with_one_v1_per_secret_verifies(body: bytes) -> None:
    # While a secret is rolled, Stripe sends one v1 per active secret.
    old = sdk_header(body, secret=OLD_SECRET).split(",")[1]
    new = sdk_header(body).split(",")[1]
    header = f"t={NOW},{old},{new}"
    provider.verify(deliver(body, header), EndpointSecrets(secrets=(SECRET,)))


def test_v0_and_unknown_schemes_are_ignored(body: bytes) -> None:
    v1 = sdk_header(body).split(",")[1]
    good = f"t={NOW}, v0=deadbeef,{v1},v9=zz,junk"
    provider.verify(deliver(body, good), EndpointSecrets(secrets=(SECRET,)))
    # A v0 signature that matches does not count: only v1 is trusted.
    v0_only = f"t={NOW},v0=" + v1.split("=", 1)[1]
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, v0_only), EndpointSecrets(secrets=(SECRET,)))


@pytest.mark.parametrize(
    "header",
    [
        "v1=abc",
        f"t={NOW}",
        f"t={NOW},t={NOW + 1},v1=00",
        "t=soon,v1=00",
        "t=-5,v1=00",
        "t=" + "9" * 5000 + ",v1=00",
        f"t={NOW},v1=not-hex",
        f"t={NOW},v1=é",
        ",,,,",
        "t",
        "=" * 50,
    ],
)
def test_garbage_headers_are_rejected(body: bytes, header: str) -> None:
    with pytest.raises((SignatureInvalid, TimestampOutOfTolerance)):
        provider.verify(deliver(body, header), EndpointSecrets(secrets=(SECRET,)))


def test_parse_reads_id_type_and_created(body: bytes) -> None:
    [event] = provider.parse(deliver(body, None))
    payload = json.loads(body)
    assert event.event_id == DOC_EVENT_ID
    assert event.event_type == "payment_intent.succeeded"
    assert event.occurred_at == payload["created"]
    assert event.body == body
    assert event.payload == payload


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"type": "charge.refunded"}',
        b'{"id": "evt_1"}',
        b'{"id": 5.5, "type": "x"}',
    ],
)
def test_malformed_payload_is_rejected(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(raw, None))


def test_default_sample_is_a_payment_intent_succeeded_event() -> None:
    payload = json.loads(provider.sample_body(None, event_id="evt_x"))
    intent = payload["data"]["object"]
    assert payload["object"] == "event"
    assert payload["type"] == "payment_intent.succeeded"
    assert intent["object"] == "payment_intent"
    assert intent["status"] == "succeeded"
    assert intent["metadata"]["order_reference"]
    for key in ("id", "amount", "currency", "customer"):
        assert intent[key]


@pytest.mark.parametrize(
    ("event_type", "object_name", "status"),
    [
        ("payment_intent.payment_failed", "payment_intent", "requires_payment_method"),
        ("charge.refunded", "charge", "succeeded"),
        ("customer.subscription.updated", "subscription", "active"),
        ("invoice.paid", "invoice", "paid"),
    ],
)
def test_samples_carry_the_documented_object(
    event_type: str, object_name: str, status: str
) -> None:
    raw = provider.sample_body(event_type, event_id="evt_y")
    payload = json.loads(raw)
    assert payload["type"] == event_type
    assert payload["data"]["object"]["object"] == object_name
    assert payload["data"]["object"]["status"] == status
    # The SDK builds a typed event from it.
    event = stripe.Webhook.construct_event(raw, sdk_header(raw, timestamp=int(time.time())), SECRET)
    assert event.data.object.object == object_name


# --- samples faithful to the pinned API version (issue 12) ----------------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
SAMPLE_TYPES = sample_event_types("stripe")


def test_samples_are_of_the_pinned_api_version() -> None:
    for event_type in SAMPLE_TYPES:
        payload = json.loads(provider.sample_body(event_type, event_id="evt_v"))
        assert payload["api_version"] == DEFAULT_STRIPE_API_VERSION, event_type


@pytest.mark.parametrize(
    ("event_type", "object_name", "status"),
    [
        ("payment_intent.succeeded", "payment_intent", "succeeded"),
        ("payment_intent.canceled", "payment_intent", "canceled"),
        ("customer.subscription.created", "subscription", "active"),
        ("customer.subscription.deleted", "subscription", "canceled"),
        ("invoice.payment_failed", "invoice", "open"),
    ],
)
def test_each_sample_carries_its_events_object(
    event_type: str, object_name: str, status: str
) -> None:
    obj = json.loads(provider.sample_body(event_type, event_id="evt_z"))["data"]["object"]
    assert (obj["object"], obj["status"]) == (object_name, status)


def test_a_canceled_payment_intent_sample_received_nothing() -> None:
    intent = json.loads(provider.sample_body("payment_intent.canceled", event_id="evt_c"))
    intent = intent["data"]["object"]
    assert (intent["amount_received"], intent["latest_charge"]) == (0, None)
    assert intent["canceled_at"]
    assert intent["cancellation_reason"]


def test_customer_created_carries_a_customer() -> None:
    payload = json.loads(provider.sample_body("customer.created", event_id="evt_cu"))
    customer = payload["data"]["object"]
    assert customer["object"] == "customer"
    assert customer["id"].startswith("cus_")
    assert "amount" not in customer
    assert "status" not in customer


# The documented objects of the pinned API version the samples are checked against (the
# other fixtures in the folder serve the handler tests).
SAMPLE_REFERENCE_FIXTURES = (
    "charge.refunded.json",
    "customer.subscription.updated.json",
    "invoice.payment_failed.json",
    "payment_intent.payment_failed.json",
    "payment_intent.succeeded.json",
)


@pytest.mark.parametrize("fixture", SAMPLE_REFERENCE_FIXTURES)
def test_samples_have_the_fields_of_stripes_documented_objects(fixture: str) -> None:
    """Every field of the documented object (tests/webhooks/fixtures/stripe/) is in the
    sample of its type, and the sample adds none that the pinned version removed."""
    documented = json.loads((FIXTURES / fixture).read_text())
    event_type = documented["type"]
    sample = json.loads(provider.sample_body(event_type, event_id="evt_f"))
    assert set(documented) <= set(sample)
    assert set(documented["data"]["object"]) <= set(sample["data"]["object"])
    assert sample["data"]["object"]["object"] == documented["data"]["object"]["object"]


def test_invoice_samples_name_the_subscription_under_parent() -> None:
    for event_type in ("invoice.paid", "invoice.payment_failed"):
        invoice = json.loads(provider.sample_body(event_type, event_id="evt_i"))["data"]["object"]
        assert "subscription" not in invoice
        assert "paid" not in invoice
        assert invoice["parent"]["subscription_details"]["subscription"].startswith("sub_")


def test_a_type_without_a_sample_is_refused_rather_than_faked() -> None:
    with pytest.raises(WebhookConfigurationError, match=r"customer\.created"):
        provider.sample_body("payout.paid", event_id="evt_n")


def test_samples_of_distinct_deliveries_never_share_a_body() -> None:
    for event_type in SAMPLE_TYPES:
        bodies = {provider.sample_body(event_type, event_id=f"evt_{n}") for n in range(50)}
        assert len(bodies) == 50, event_type
