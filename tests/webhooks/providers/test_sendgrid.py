"""SendGrid provider: SendGrid's `EventWebhook` helper is the reference verifier; keys are
generated per test run with `cryptography` (SendGrid keeps its private key)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook

from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery

NOW = 1_700_000_000
SIG = "X-Twilio-Email-Event-Webhook-Signature"
TS = "X-Twilio-Email-Event-Webhook-Timestamp"
provider = get_provider("sendgrid")


def _key_pair() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private, base64.b64encode(der).decode(), pem


PRIVATE, PUBLIC_B64, PRIVATE_PEM = _key_pair()
OTHER_PRIVATE, OTHER_PUBLIC_B64, _ = _key_pair()
KEYS = EndpointSecrets(public_key=PUBLIC_B64, options={"test_private_key": PRIVATE_PEM})


def reference_headers(
    body: bytes, key: ec.EllipticCurvePrivateKey = PRIVATE, timestamp: int = NOW
) -> dict[str, str]:
    """Sign as SendGrid documents: ECDSA P-256/SHA-256 over timestamp + payload, base64 DER."""
    signature = key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {SIG: base64.b64encode(signature).decode(), TS: str(timestamp)}


def deliver(body: bytes, headers: dict[str, str], *, now: float = NOW) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers), received_at=now)


@pytest.fixture
def body() -> bytes:
    """SendGrid's documented `delivered` event batch (tests/webhooks/fixtures/sendgrid/)."""
    path = Path(__file__).resolve().parent.parent / "fixtures" / "sendgrid"
    return (path / "delivered.json").read_bytes()


def test_reference_signature_verifies(body: bytes) -> None:
    provider.verify(deliver(body, reference_headers(body)), KEYS)


def test_sendgrid_helper_accepts_what_sign_produces(body: bytes) -> None:
    signed = provider.sign(body, KEYS, url="", timestamp=NOW)
    assert EventWebhook(PUBLIC_B64).verify_signature(
        signed.body.decode(), signed.headers[SIG], signed.headers[TS]
    )
    assert not EventWebhook(OTHER_PUBLIC_B64).verify_signature(
        signed.body.decode(), signed.headers[SIG], signed.headers[TS]
    )
    provider.verify(deliver(signed.body, signed.headers), KEYS)


def test_pem_public_key_is_accepted(body: bytes) -> None:
    pem = (
        PRIVATE.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    provider.verify(deliver(body, reference_headers(body)), EndpointSecrets(public_key=pem))


def test_tampered_body_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body.replace(b"delivered", b"bounce"), reference_headers(body)), KEYS
        )


def test_tampered_timestamp_is_rejected(body: bytes) -> None:
    headers = {**reference_headers(body), TS: str(NOW + 1)}
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, headers), KEYS)


def test_wrong_key_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, reference_headers(body, OTHER_PRIVATE)), KEYS)


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_rejected(body: bytes, offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(deliver(body, reference_headers(body, timestamp=NOW + offset)), KEYS)


@pytest.mark.parametrize("missing", [SIG, TS])
def test_missing_headers_are_rejected(body: bytes, missing: str) -> None:
    headers = reference_headers(body)
    del headers[missing]
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(body, headers), KEYS)


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        ("not base64!", str(NOW)),
        ("AAAA", str(NOW)),
        ("MEUCIQ==", str(NOW)),
        ("é", str(NOW)),
        ("AAAA", "x"),
        ("AAAA", ""),
    ],
)
def test_garbage_headers_are_rejected(body: bytes, signature: str, timestamp: str) -> None:
    with pytest.raises((SignatureInvalid, TimestampOutOfTolerance, SignatureMissing)):
        provider.verify(deliver(body, {SIG: signature, TS: timestamp}), KEYS)


@pytest.mark.parametrize(
    "public_key", ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]
)
def test_unusable_public_key_is_a_configuration_error(body: bytes, public_key: str) -> None:
    with pytest.raises(WebhookConfigurationError):
        provider.verify(
            deliver(body, reference_headers(body)), EndpointSecrets(public_key=public_key)
        )
    with pytest.raises(WebhookConfigurationError):
        provider.check_configuration(EndpointSecrets(public_key=public_key))


def test_sign_without_a_private_key_explains_why(body: bytes) -> None:
    with pytest.raises(WebhookConfigurationError, match="only SendGrid holds"):
        provider.sign(body, EndpointSecrets(public_key=PUBLIC_B64), url="", timestamp=NOW)


def test_each_batch_element_is_its_own_event(body: bytes) -> None:
    events = provider.parse(deliver(body, {}))
    batch = json.loads(body)
    assert [e.event_id for e in events] == [item["sg_event_id"] for item in batch]
    assert events[0].event_id == "rWVYmVk90MjZJ9iohOBa3w"
    assert events[0].event_type == "delivered"
    assert events[1].event_type == "processed"
    assert json.loads(events[0].body) == batch[0]
    assert events[0].occurred_at == batch[0]["timestamp"]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xfe",
        b"[]",
        b"{}",
        b'["x"]',
        b'[{"event": "open"}]',
        b'[{"sg_event_id": "a"}]',
    ],
)
def test_malformed_payload_is_rejected(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(raw, {}))
