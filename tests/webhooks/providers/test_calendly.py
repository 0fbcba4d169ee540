"""Calendly: `Calendly-Webhook-Signature: t=…,v1=<hex HMAC-SHA256 of "t.body">`; Calendly's
documented formula as the reference signer over Calendly's documented `invitee.created`
example (tests/webhooks/fixtures/calendly/)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime

import pytest

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
)
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

SECRET = f"fake-calendly-signing-key-{secrets.token_hex(8)}"
OTHER = f"fake-calendly-signing-key-{secrets.token_hex(8)}"
BODY = hmac_cases.fixture_bytes("calendly", "invitee_created.json")
HEADER = "Calendly-Webhook-Signature"
provider = get_provider("calendly")


def signature(body: bytes, *, t: int, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(body: bytes, value: str | None, *, now: float, keys=(SECRET,)) -> None:
    hdrs = {} if value is None else {HEADER: value}
    provider.verify(hmac_cases.deliver(body, hdrs, now=now), EndpointSecrets(secrets=keys))


def test_documented_event_signed_by_the_documented_formula_verifies_and_parses() -> None:
    t = int(time.time())
    verify(BODY, signature(BODY, t=t), now=t)
    [event] = provider.parse(hmac_cases.deliver(BODY, {}, now=t))
    assert event.event_type == "invitee.created"
    assert event.event_id == (
        "invitee.created:https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2"
        "/invitees/AAAAAAAAAAAAAAAA"
    )
    assert event.occurred_at == datetime.fromisoformat("2020-11-23T17:51:19+00:00").timestamp()


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(BODY, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=1700)
    assert signed.headers[HEADER] == signature(BODY, t=1700)


def test_tampered_body_and_wrong_secret_are_rejected() -> None:
    t = int(time.time())
    with pytest.raises(SignatureInvalid):
        verify(BODY.replace(b"John", b"Joan"), signature(BODY, t=t), now=t)
    with pytest.raises(SignatureInvalid):
        verify(BODY, signature(BODY, t=t, secret=OTHER), now=t)
    verify(BODY, signature(BODY, t=t, secret=OTHER), now=t, keys=(SECRET, OTHER))


def test_the_timestamp_is_signed() -> None:
    t = int(time.time())
    forged = signature(BODY, t=t).replace(f"t={t}", f"t={t + 1}")
    with pytest.raises(SignatureInvalid):
        verify(BODY, forged, now=t)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_are_rejected(offset: int) -> None:
    t = int(time.time())
    with pytest.raises(TimestampOutOfTolerance):
        verify(BODY, signature(BODY, t=t), now=t - offset)


@pytest.mark.parametrize("value", ["v1=00", "t=1", "t=x,v1=00", "", "t=1,t=2,v1=00"])
def test_missing_or_garbage_headers_are_rejected(value: str) -> None:
    with pytest.raises((SignatureMissing, SignatureInvalid, TimestampOutOfTolerance)):
        verify(BODY, value, now=time.time())


def test_missing_header_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        verify(BODY, None, now=time.time())


@pytest.mark.parametrize("body", [b"[]", b'{"event": "invitee.created"}', b'{"payload": {}}'])
def test_payload_without_type_or_subject_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(body, {}, now=time.time()))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("calendly", SECRET)
    hdrs = {HEADER: signature(BODY, t=int(time.time()))}
    event = hmac_cases.assert_stored_once(client, endpoint, BODY, hdrs)
    assert event.event_type == "invitee.created"


@pytest.mark.django_db
def test_send_test_webhook_sample_is_accepted(client) -> None:
    endpoint = hmac_cases.endpoint_make("calendly", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, "invitee.created")


@pytest.mark.django_db
def test_admin_filter_lists_calendly(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("calendly", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "invitee.created")
    hmac_cases.assert_admin_lists(admin_client, event)
