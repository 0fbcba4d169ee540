"""Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>`; Typeform's
documented formula as the reference signer over Typeform's documented `form_response`
example (tests/webhooks/fixtures/typeform/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import datetime

import pytest

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

SECRET = f"fake-typeform-secret-{secrets.token_hex(8)}"
OTHER = f"fake-typeform-secret-{secrets.token_hex(8)}"
BODY = hmac_cases.fixture_bytes("typeform", "form_response.json")
provider = get_provider("typeform")


def headers(body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}


def verify(body: bytes, hdrs: dict[str, str], *keys: str) -> None:
    provider.verify(
        hmac_cases.deliver(body, hdrs, now=time.time()), EndpointSecrets(secrets=keys or (SECRET,))
    )


def test_documented_response_signed_by_the_documented_formula_verifies_and_parses() -> None:
    verify(BODY, headers())
    [event] = provider.parse(hmac_cases.deliver(BODY, headers(), now=time.time()))
    assert (event.event_id, event.event_type) == ("LtWXD3crgy", "form_response")
    assert event.occurred_at == datetime.fromisoformat("2018-01-18T18:17:02+00:00").timestamp()


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(BODY, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=0)
    assert signed.headers["Typeform-Signature"] == headers()["Typeform-Signature"]


def test_tampered_body_and_wrong_secret_are_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(BODY.replace(b"lemon", b"lime"), headers())
    with pytest.raises(SignatureInvalid):
        verify(BODY, headers(secret=OTHER))
    verify(BODY, headers(secret=OTHER), SECRET, OTHER)


def test_a_hex_signature_is_not_accepted_for_base64() -> None:
    value = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalid):
        verify(BODY, {"Typeform-Signature": value})


@pytest.mark.parametrize("value", ["", "sha256=", "sha256=@@@", "c2lnbmF0dXJl"])
def test_missing_or_garbage_signature_is_rejected(value: str) -> None:
    with pytest.raises((SignatureMissing, SignatureInvalid)):
        verify(BODY, {"Typeform-Signature": value})


def test_no_timestamp_is_signed_so_new_endpoints_dedupe_bodies() -> None:
    assert provider.default_duplicate_body_window_hours == 24


@pytest.mark.parametrize("body", [b"[]", b'{"event_type": "form_response"}', b'{"event_id": "x"}'])
def test_payload_without_id_or_type_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(body, {}, now=time.time()))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("typeform", SECRET)
    event = hmac_cases.assert_stored_once(client, endpoint, BODY, headers())
    assert event.event_id == "LtWXD3crgy"


@pytest.mark.django_db
def test_send_test_webhook_sample_is_accepted(client) -> None:
    endpoint = hmac_cases.endpoint_make("typeform", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, "form_response")


@pytest.mark.django_db
def test_admin_filter_lists_typeform(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("typeform", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "form_response")
    hmac_cases.assert_admin_lists(admin_client, event)
