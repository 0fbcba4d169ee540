"""HubSpot v3: `X-HubSpot-Signature-v3` (base64 HMAC-SHA256 of method + URI + body +
timestamp) with `X-HubSpot-Request-Timestamp` in ms and a 5-minute window; HubSpot's own
Python client (`hubspot-api-client`, `hubspot.utils.signature.Signature`) is the reference
signer and verifier, over HubSpot's documented batch (tests/webhooks/fixtures/hubspot/)."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from hubspot.utils.signature import Signature

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
)
from webhooks.models import WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

SECRET = f"fake-hubspot-client-secret-{secrets.token_hex(8)}"
OTHER = f"fake-hubspot-client-secret-{secrets.token_hex(8)}"
BATCH = hmac_cases.fixture_bytes("hubspot", "contact_batch.json")
URL = "https://hooks.example.com/webhooks/hubspot-test/?portal=33"
provider = get_provider("hubspot")


def client_headers(body: bytes, *, secret: str = SECRET, url: str = URL, ms: int) -> dict:
    signature = Signature.get_signature(
        secret, body.decode(), "v3", http_uri=url, http_method="POST", timestamp=str(ms)
    )
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(ms)}


def verify(body: bytes, hdrs: dict, *, now: float, url: str = URL, keys=(SECRET,)) -> None:
    provider.verify(hmac_cases.deliver(body, hdrs, now=now, url=url), EndpointSecrets(secrets=keys))


def test_headers_signed_by_hubspots_client_verify_and_the_batch_is_split() -> None:
    ms = int(time.time() * 1000)
    verify(BATCH, client_headers(BATCH, ms=ms), now=ms / 1000)
    events = provider.parse(hmac_cases.deliver(BATCH, {}, now=ms / 1000))
    assert [e.event_type for e in events] == ["contact.propertyChange", "contact.creation"]
    assert [e.event_id for e in events] == [
        "33:25:3816279340:1462216307945",
        "33:22:3816279480:1462216307945",
    ]
    assert all(e.occurred_at == 1462216307.945 for e in events)
    assert json.loads(events[1].body) == json.loads(BATCH)[1]


def test_hubspots_client_accepts_what_sign_produces() -> None:
    now = int(time.time())
    signed = provider.sign(BATCH, EndpointSecrets(secrets=(SECRET,)), url=URL, timestamp=now)
    assert Signature.is_valid(
        signature=signed.headers["X-HubSpot-Signature-v3"],
        client_secret=SECRET,
        request_body=signed.body.decode(),
        http_uri=URL,
        signature_version="v3",
        timestamp=signed.headers["X-HubSpot-Request-Timestamp"],
    )


def test_uri_escapes_hubspot_decodes_are_decoded_before_signing() -> None:
    ms = int(time.time() * 1000)
    decoded = "https://hooks.example.com/webhooks/hubspot-test/?next=a:b/c"
    escaped = "https://hooks.example.com/webhooks/hubspot-test/?next=a%3Ab%2Fc"
    verify(BATCH, client_headers(BATCH, ms=ms, url=decoded), now=ms / 1000, url=escaped)


def test_tampered_body_wrong_secret_and_wrong_url_are_rejected() -> None:
    ms = int(time.time() * 1000)
    hdrs = client_headers(BATCH, ms=ms)
    with pytest.raises(SignatureInvalid):
        verify(BATCH.replace(b"subscriber", b"customer"), hdrs, now=ms / 1000)
    with pytest.raises(SignatureInvalid):
        verify(BATCH, client_headers(BATCH, ms=ms, secret=OTHER), now=ms / 1000)
    with pytest.raises(SignatureInvalid):
        verify(BATCH, hdrs, now=ms / 1000, url=URL.replace("33", "34"))


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_are_rejected(offset: int) -> None:
    ms = int(time.time() * 1000)
    with pytest.raises(TimestampOutOfTolerance):
        verify(BATCH, client_headers(BATCH, ms=ms), now=ms / 1000 - offset)


def test_the_window_is_hubspots_five_minutes_whatever_the_endpoint_says() -> None:
    ms = int(time.time() * 1000)
    delivery = hmac_cases.deliver(BATCH, client_headers(BATCH, ms=ms), now=ms / 1000 + 400, url=URL)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(delivery, EndpointSecrets(secrets=(SECRET,), tolerance_seconds=3600))


@pytest.mark.parametrize("missing", ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"])
def test_missing_headers_are_rejected(missing: str) -> None:
    ms = int(time.time() * 1000)
    hdrs = {k: v for k, v in client_headers(BATCH, ms=ms).items() if k != missing}
    with pytest.raises(SignatureMissing):
        verify(BATCH, hdrs, now=ms / 1000)


@pytest.mark.parametrize("body", [b"{}", b"[]", b"[1]", b'[{"eventId": 1}]'])
def test_body_that_is_not_a_batch_of_events_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(body, {}, now=time.time()))


@pytest.mark.django_db
def test_repeated_batch_is_stored_once(client, settings) -> None:
    settings.WEBHOOKS_PUBLIC_BASE_URL = hmac_cases.TEST_BASE_URL
    endpoint = hmac_cases.endpoint_make("hubspot", SECRET)
    url = f"{hmac_cases.TEST_BASE_URL}{endpoint.path}"
    hdrs = client_headers(BATCH, ms=int(time.time() * 1000), url=url)
    first = hmac_cases.post(client, endpoint, BATCH, hdrs)
    second = hmac_cases.post(client, endpoint, BATCH, hdrs)
    assert (first.json(), second.json()) == (
        {"received": 2, "duplicates": 0},
        {"received": 2, "duplicates": 2},
    )
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["contact.creation", "contact.propertyChange"])
def test_send_test_webhook_sample_is_accepted(client, settings, event_type: str) -> None:
    settings.WEBHOOKS_PUBLIC_BASE_URL = hmac_cases.TEST_BASE_URL
    endpoint = hmac_cases.endpoint_make("hubspot", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, event_type)


@pytest.mark.django_db
def test_admin_filter_lists_hubspot(client, admin_client, settings) -> None:
    settings.WEBHOOKS_PUBLIC_BASE_URL = hmac_cases.TEST_BASE_URL
    endpoint = hmac_cases.endpoint_make("hubspot", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "contact.creation")
    hmac_cases.assert_admin_lists(admin_client, event)
