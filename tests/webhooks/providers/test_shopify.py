"""Shopify provider: the documented scheme (base64 HMAC-SHA256 of the raw body) as reference."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify"
SECRET = "fake-shopify-client-secret"
OLD_SECRET = "fake-shopify-client-secret-old"
provider = get_provider("shopify")


def reference_signature(body: bytes, secret: str) -> str:
    """Shopify's documented computation, written out independently of webhooks.signing."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(body: bytes, headers: dict[str, str]) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers))


@pytest.fixture
def body() -> bytes:
    """Shopify's documented `orders/create` example (tests/webhooks/fixtures/shopify/)."""
    return (FIXTURES / "orders_create.json").read_bytes()


def headers_for(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": reference_signature(body, secret),
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Triggered-At": "2025-04-22T19:30:00.123456Z",
    }


def test_reference_signature_verifies(body: bytes) -> None:
    provider.verify(deliver(body, headers_for(body)), EndpointSecrets(secrets=(SECRET,)))


def test_sign_matches_the_reference_computation(body: bytes) -> None:
    signed = provider.sign(
        body, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=1_700_000_000
    )
    assert signed.headers["X-Shopify-Hmac-Sha256"] == reference_signature(body, SECRET)
    assert signed.headers["X-Shopify-Topic"] == "orders/create"
    assert signed.headers["X-Shopify-Triggered-At"] == "2023-11-14T22:13:20Z"


def test_tampered_body_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body[:-1] + b" }", headers_for(body)), EndpointSecrets(secrets=(SECRET,))
        )


def test_wrong_secret_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body, headers_for(body, OLD_SECRET)), EndpointSecrets(secrets=(SECRET,))
        )


def test_missing_header_is_rejected(body: bytes) -> None:
    headers = headers_for(body)
    del headers["X-Shopify-Hmac-Sha256"]
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_rotated_secret_verifies(body: bytes) -> None:
    provider.verify(
        deliver(body, headers_for(body, OLD_SECRET)), EndpointSecrets(secrets=(SECRET, OLD_SECRET))
    )


@pytest.mark.parametrize("header", ["not base64!", "YWJj", "====", "ü" * 44, "sha256=abc"])
def test_garbage_headers_are_rejected(body: bytes, header: str) -> None:
    headers = {**headers_for(body), "X-Shopify-Hmac-Sha256": header}
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_parse_uses_webhook_id_topic_and_triggered_at(body: bytes) -> None:
    [event] = provider.parse(deliver(body, headers_for(body)))
    assert event.event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.event_type == "orders/create"
    assert event.occurred_at == pytest.approx(1745350200.123456)
    assert event.payload["line_items"]


@pytest.mark.parametrize(
    ("raw", "drop"),
    [
        (b"not json", None),
        (b"\xff", None),
        (b"[]", None),
        (b"{}", "X-Shopify-Webhook-Id"),
        (b"{}", "X-Shopify-Topic"),
    ],
)
def test_malformed_payload_is_rejected(raw: bytes, drop: str | None) -> None:
    headers = headers_for(raw)
    if drop:
        del headers[drop]
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(raw, headers))


@pytest.mark.parametrize(
    "topic",
    ["orders/create", "orders/paid", "products/update", "customers/create", "app/uninstalled"],
)
def test_sample_topics_round_trip(topic: str) -> None:
    raw = provider.sample_body(topic, event_id="wh-2")
    signed = provider.sign(raw, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=1_700_000_000)
    delivery = deliver(signed.body, signed.headers)
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    [event] = provider.parse(delivery)
    assert event.event_type == topic
    assert isinstance(json.loads(raw), dict)
