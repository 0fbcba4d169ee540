"""Square: `x-square-hmacsha256-signature` (base64 HMAC-SHA256 of notification URL + body),
checked against the `square` SDK's documented WebhooksHelper test vector and with the SDK's
`verify_signature` as the reference verifier (tests/webhooks/fixtures/square/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import datetime

import pytest
from square.utils.webhooks_helper import verify_signature

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

VECTOR = hmac_cases.fixture_json("square", "webhooks_test_notification.json")
SECRET = f"fake-square-key-{secrets.token_hex(8)}"
OTHER = f"fake-square-key-{secrets.token_hex(8)}"
PAYMENT = hmac_cases.fixture_bytes("square", "payment_updated.json")
URL = "https://hooks.example.com/webhooks/square-test/"
HEADER = "x-square-hmacsha256-signature"
provider = get_provider("square")


def reference_signature(body: bytes, secret: str = SECRET, url: str = URL) -> str:
    digest = hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(body: bytes, hdrs: dict[str, str], *, url: str = URL, keys=(SECRET,)) -> None:
    provider.verify(
        hmac_cases.deliver(body, hdrs, now=time.time(), url=url), EndpointSecrets(secrets=keys)
    )


def test_the_sdks_documented_vector_verifies_and_parses() -> None:
    body = VECTOR["body"].encode()
    hdrs = {HEADER: VECTOR["signature"]}
    verify(body, hdrs, url=VECTOR["notification_url"], keys=(VECTOR["signature_key"],))
    [event] = provider.parse(hmac_cases.deliver(body, hdrs, now=time.time()))
    assert event.event_id == "ac3ac95b-f97d-458c-a6e6-18981597e05f"
    assert event.event_type == "webhooks.test_notification"
    # Nanoseconds in the documented time: kept to the microsecond.
    assert (
        event.occurred_at == datetime.fromisoformat("2022-07-13T20:30:59.037339+00:00").timestamp()
    )


def test_the_vector_fails_for_another_url_or_key() -> None:
    body = VECTOR["body"].encode()
    hdrs = {HEADER: VECTOR["signature"]}
    with pytest.raises(SignatureInvalid):
        verify(body, hdrs, url=VECTOR["notification_url"] + "x", keys=(VECTOR["signature_key"],))
    with pytest.raises(SignatureInvalid):
        verify(body, hdrs, url=VECTOR["notification_url"], keys=(SECRET,))


def test_sdk_accepts_what_sign_produces() -> None:
    signed = provider.sign(PAYMENT, EndpointSecrets(secrets=(SECRET,)), url=URL, timestamp=0)
    assert verify_signature(
        request_body=signed.body.decode(),
        signature_header=signed.headers[HEADER],
        signature_key=SECRET,
        notification_url=URL,
    )
    assert not verify_signature(
        request_body=signed.body.decode(),
        signature_header=signed.headers[HEADER],
        signature_key=OTHER,
        notification_url=URL,
    )


def test_documented_payment_event_parses() -> None:
    [event] = provider.parse(hmac_cases.deliver(PAYMENT, {}, now=time.time()))
    assert (event.event_id, event.event_type) == (
        "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
        "payment.updated",
    )
    assert event.occurred_at == datetime.fromisoformat("2020-02-06T21:27:34.308+00:00").timestamp()


def test_tampered_body_and_wrong_secret_are_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(PAYMENT.replace(b"100", b"101", 1), {HEADER: reference_signature(PAYMENT)})
    with pytest.raises(SignatureInvalid):
        verify(PAYMENT, {HEADER: reference_signature(PAYMENT, OTHER)})
    verify(PAYMENT, {HEADER: reference_signature(PAYMENT, OTHER)}, keys=(SECRET, OTHER))


@pytest.mark.parametrize("value", ["", "not base64!", "AAAA"])
def test_missing_or_garbage_signature_is_rejected(value: str) -> None:
    with pytest.raises((SignatureMissing, SignatureInvalid)):
        verify(PAYMENT, {HEADER: value})


def test_no_timestamp_is_signed_so_new_endpoints_dedupe_bodies() -> None:
    assert provider.signs_url is True
    assert provider.default_duplicate_body_window_hours == 24


@pytest.mark.parametrize("body", [b"[]", b'{"type": "payment.updated"}', b'{"event_id": "e"}'])
def test_payload_without_id_or_type_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(body, {}, now=time.time()))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client, settings) -> None:
    settings.WEBHOOKS_PUBLIC_BASE_URL = hmac_cases.TEST_BASE_URL
    endpoint = hmac_cases.endpoint_make("square", SECRET)
    url = f"{hmac_cases.TEST_BASE_URL}{endpoint.path}"
    hdrs = {HEADER: reference_signature(PAYMENT, url=url)}
    event = hmac_cases.assert_stored_once(client, endpoint, PAYMENT, hdrs)
    assert event.event_type == "payment.updated"


@pytest.mark.django_db
def test_send_test_webhook_sample_is_accepted(client, settings) -> None:
    settings.WEBHOOKS_PUBLIC_BASE_URL = hmac_cases.TEST_BASE_URL
    endpoint = hmac_cases.endpoint_make("square", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, "payment.updated")


@pytest.mark.django_db
def test_admin_filter_lists_square(client, admin_client, settings) -> None:
    settings.WEBHOOKS_PUBLIC_BASE_URL = hmac_cases.TEST_BASE_URL
    endpoint = hmac_cases.endpoint_make("square", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "payment.updated")
    hmac_cases.assert_admin_lists(admin_client, event)
