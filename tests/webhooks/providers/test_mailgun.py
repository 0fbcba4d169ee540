"""Mailgun: the signature in the body, Mailgun's documented formula as the reference signer
(hex HMAC-SHA256 of timestamp + token), the timestamp window and the token replay cache."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.urls import reverse

from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
)
from webhooks.models import WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.providers.mailgun import TokenReplayed
from webhooks.providers.samples import sample_event_types
from webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mailgun" / "delivered.json"
DOC_TIMESTAMP = 1529006854
provider = get_provider("mailgun")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture(scope="module")
def key() -> str:
    return f"fake-mailgun-signing-key-{secrets.token_hex(8)}"


def documented(key: str, **signature: Any) -> dict[str, Any]:
    """Mailgun's documented example, signed with Mailgun's documented formula."""
    payload: dict[str, Any] = json.loads(FIXTURE.read_text())
    block = {**payload["signature"], **signature}
    message = f"{block['timestamp']}{block['token']}".encode()
    block.setdefault("signature", hmac.new(key.encode(), message, hashlib.sha256).hexdigest())
    payload["signature"] = block
    return payload


def deliver(payload: dict[str, Any], *, now: float = DOC_TIMESTAMP + 5) -> IncomingDelivery:
    return IncomingDelivery(
        body=json.dumps(payload).encode(),
        headers=Headers({"Content-Type": "application/json"}),
        content_type="application/json",
        received_at=now,
    )


def test_the_documented_delivery_verifies_and_is_parsed(key) -> None:
    delivery = deliver(documented(key))
    provider.verify(delivery, EndpointSecrets(secrets=(key,)))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == ("CPgfbmQMTCKtHW6uIWtuVe", "delivered")
    assert event.occurred_at == pytest.approx(1521472262.908181)
    assert provider.event_subject(event) == "20130503182626.18666.16540@sandbox.mailgun.org"


def test_a_rotated_key_still_verifies(key) -> None:
    provider.verify(deliver(documented(key)), EndpointSecrets(secrets=("new-key", key)))


def test_a_wrong_key_is_refused(key) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(documented(key)), EndpointSecrets(secrets=("other-key",)))


@pytest.mark.parametrize(
    "change", [{"token": "b" * 50}, {"timestamp": str(DOC_TIMESTAMP + 1)}, {"signature": "ab" * 32}]
)
def test_a_tampered_signature_block_is_refused(key, change) -> None:
    payload = documented(key)
    payload["signature"].update(change)
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(payload, now=DOC_TIMESTAMP + 1), EndpointSecrets(secrets=(key,)))


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_refused(key, offset) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(
            deliver(documented(key), now=DOC_TIMESTAMP - offset), EndpointSecrets(secrets=(key,))
        )


def test_a_reused_token_is_refused_within_the_window(key) -> None:
    """The signature does not cover event-data: a captured token must not carry another body."""
    provider.verify(deliver(documented(key)), EndpointSecrets(secrets=(key,)))
    other = documented(key)
    other["event-data"]["id"] = "another-event"
    with pytest.raises(TokenReplayed) as caught:
        provider.verify(deliver(other), EndpointSecrets(secrets=(key,)))
    assert caught.value.reason == "token_replayed"


def test_a_forged_delivery_does_not_burn_the_token(key) -> None:
    forged = documented(key, signature="00" * 32)
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(forged), EndpointSecrets(secrets=(key,)))
    provider.verify(deliver(documented(key)), EndpointSecrets(secrets=(key,)))


@pytest.mark.parametrize("name", ["timestamp", "token", "signature"])
def test_missing_signature_fields_are_refused(key, name) -> None:
    payload = documented(key)
    del payload["signature"][name]
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(payload), EndpointSecrets(secrets=(key,)))


def test_a_body_without_a_signature_object_is_refused(key) -> None:
    payload = documented(key)
    del payload["signature"]
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(payload), EndpointSecrets(secrets=(key,)))


@pytest.mark.parametrize("body", [b"[]", b"not json", b'{"signature": {}, "event-data": 1}'])
def test_malformed_bodies_are_refused(body: bytes) -> None:
    delivery = IncomingDelivery(body=body, headers=Headers({}), received_at=DOC_TIMESTAMP)
    with pytest.raises((MalformedPayload, SignatureMissing)):
        provider.verify(delivery, EndpointSecrets(secrets=("k",)))
    with pytest.raises(MalformedPayload):
        provider.parse(delivery)


@pytest.mark.django_db
def test_view_stores_a_retried_event_once_and_refuses_a_replayed_token(client, key) -> None:
    webhook_endpoint_create(provider="mailgun", slug="mg", secret=key)
    path = reverse("liaison_webhooks:receive", kwargs={"slug": "mg"})
    now = str(int(time.time()))

    def post(payload: dict[str, Any]):
        return client.post(path, json.dumps(payload), content_type="application/json")

    first = documented(key, timestamp=now, token=secrets.token_hex(25))
    retry = documented(key, timestamp=now, token=secrets.token_hex(25))  # Mailgun re-signs
    responses_ = [post(first), post(retry), post(first)]

    assert [r.status_code for r in responses_] == [200, 200, 400]
    assert responses_[1].json()["duplicates"] == 1
    assert responses_[2].json()["error"] == "token_replayed"
    assert WebhookEvent.objects.get().event_id == "CPgfbmQMTCKtHW6uIWtuVe"


@pytest.mark.parametrize("event_type", sample_event_types("mailgun"))
def test_every_sample_signed_for_a_test_delivery_verifies(key, event_type) -> None:
    body = provider.sample_body(event_type, event_id="evt_sample_1")
    now = int(time.time())
    signed = provider.sign(body, EndpointSecrets(secrets=(key,)), url="", timestamp=now)
    payload = json.loads(signed.body)
    block = payload["signature"]
    reference = hmac.new(
        key.encode(), f"{block['timestamp']}{block['token']}".encode(), hashlib.sha256
    ).hexdigest()
    assert block["signature"] == reference
    assert len(block["token"]) == 50
    delivery = deliver(payload, now=now)
    provider.verify(delivery, EndpointSecrets(secrets=(key,)))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == ("evt_sample_1", event_type)
    assert event.occurred_at is not None


@pytest.mark.django_db
@responses.activate
def test_send_test_webhook_sample_is_accepted(client, key) -> None:
    endpoint = webhook_endpoint_create(provider="mailgun", slug="mg-test", secret=key).endpoint

    def forward(request):
        response = client.generic(
            "POST", endpoint.path, request.body, content_type="application/json"
        )
        return response.status_code, {}, response.content

    responses.add_callback(responses.POST, f"http://127.0.0.1:8000{endpoint.path}", forward)
    result = webhook_endpoint_send_test(endpoint=endpoint, event_type="failed")
    assert result.status_code == 200, result.body
    assert WebhookEvent.objects.get().event_type == "failed"
