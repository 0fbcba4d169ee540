"""Zoom: `x-zm-signature: v0=hex(HMAC-SHA256("v0:{timestamp}:{body}"))` and the
`endpoint.url_validation` challenge, with Zoom's documented formulas as the reference, over
Zoom's documented payloads (tests/webhooks/fixtures/zoom/)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

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

SECRET = f"fake-zoom-secret-token-{secrets.token_hex(8)}"
OTHER = f"fake-zoom-secret-token-{secrets.token_hex(8)}"
STARTED = hmac_cases.fixture_bytes("zoom", "meeting_started.json")
VALIDATION = hmac_cases.fixture_bytes("zoom", "endpoint_url_validation.json")
provider = get_provider("zoom")


def zoom_headers(body: bytes, *, ts: int, secret: str = SECRET) -> dict[str, str]:
    message = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"x-zm-signature": f"v0={digest}", "x-zm-request-timestamp": str(ts)}


def verify(body: bytes, hdrs: dict[str, str], *, now: float, keys=(SECRET,)) -> None:
    provider.verify(hmac_cases.deliver(body, hdrs, now=now), EndpointSecrets(secrets=keys))


def test_documented_event_signed_by_the_documented_formula_verifies_and_parses() -> None:
    ts = int(time.time())
    verify(STARTED, zoom_headers(STARTED, ts=ts), now=ts)
    [event] = provider.parse(hmac_cases.deliver(STARTED, {}, now=ts))
    assert event.event_type == "meeting.started"
    assert event.occurred_at == 1626230691.572
    assert event.event_id.startswith("1626230691572:")


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(STARTED, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=1700)
    assert signed.headers == {**signed.headers, **zoom_headers(STARTED, ts=1700)}


def test_tampered_body_and_wrong_secret_are_rejected() -> None:
    ts = int(time.time())
    with pytest.raises(SignatureInvalid):
        verify(STARTED.replace(b"My Meeting", b"My Meetinf"), zoom_headers(STARTED, ts=ts), now=ts)
    with pytest.raises(SignatureInvalid):
        verify(STARTED, zoom_headers(STARTED, ts=ts, secret=OTHER), now=ts)
    verify(STARTED, zoom_headers(STARTED, ts=ts, secret=OTHER), now=ts, keys=(SECRET, OTHER))


def test_timestamp_is_signed() -> None:
    ts = int(time.time())
    hdrs = {**zoom_headers(STARTED, ts=ts), "x-zm-request-timestamp": str(ts + 1)}
    with pytest.raises(SignatureInvalid):
        verify(STARTED, hdrs, now=ts)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_are_rejected(offset: int) -> None:
    ts = int(time.time())
    with pytest.raises(TimestampOutOfTolerance):
        verify(STARTED, zoom_headers(STARTED, ts=ts), now=ts - offset)


@pytest.mark.parametrize("missing", ["x-zm-signature", "x-zm-request-timestamp"])
def test_missing_headers_are_rejected(missing: str) -> None:
    ts = int(time.time())
    hdrs = {k: v for k, v in zoom_headers(STARTED, ts=ts).items() if k != missing}
    with pytest.raises(SignatureMissing):
        verify(STARTED, hdrs, now=ts)


def test_url_validation_is_answered_with_the_documented_token_hash() -> None:
    ts = int(time.time())
    delivery = hmac_cases.deliver(VALIDATION, zoom_headers(VALIDATION, ts=ts), now=ts)
    secrets_ = EndpointSecrets(secrets=(SECRET,))
    provider.verify(delivery, secrets_)
    events = provider.parse(delivery, secrets_)
    response = provider.immediate_response(delivery, events)
    assert response is not None
    assert response.status == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.body == (
        b'{"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": "' + expected.encode() + b'"}'
    )


def test_ordinary_events_get_the_default_acknowledgement() -> None:
    delivery = hmac_cases.deliver(STARTED, {}, now=time.time())
    assert provider.immediate_response(delivery, provider.parse(delivery)) is None


def test_url_validation_without_a_token_is_malformed() -> None:
    body = b'{"event": "endpoint.url_validation", "payload": {}, "event_ts": 1}'
    with pytest.raises(MalformedPayload):
        provider.parse(
            hmac_cases.deliver(body, {}, now=time.time()), EndpointSecrets(secrets=(SECRET,))
        )


@pytest.mark.django_db
def test_the_view_answers_the_url_validation_challenge(client) -> None:
    endpoint = hmac_cases.endpoint_make("zoom", SECRET)
    response = hmac_cases.post(
        client, endpoint, VALIDATION, zoom_headers(VALIDATION, ts=int(time.time()))
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


@pytest.mark.django_db
def test_a_forged_url_validation_gets_no_token_hash(client) -> None:
    endpoint = hmac_cases.endpoint_make("zoom", SECRET)
    hdrs = zoom_headers(VALIDATION, ts=int(time.time()), secret=OTHER)
    response = hmac_cases.post(client, endpoint, VALIDATION, hdrs)
    assert response.status_code == 400
    assert "encryptedToken" not in response.content.decode()


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("zoom", SECRET)
    event = hmac_cases.assert_stored_once(
        client, endpoint, STARTED, zoom_headers(STARTED, ts=int(time.time()))
    )
    assert event.event_type == "meeting.started"


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["meeting.started", "endpoint.url_validation"])
def test_send_test_webhook_sample_is_accepted(client, event_type: str) -> None:
    endpoint = hmac_cases.endpoint_make("zoom", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, event_type)


@pytest.mark.django_db
def test_admin_filter_lists_zoom(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("zoom", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "meeting.started")
    hmac_cases.assert_admin_lists(admin_client, event)
