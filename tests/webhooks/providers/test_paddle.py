"""Paddle Billing: `Paddle-Signature: ts=…;h1=…` over `ts:body`, with Paddle's own Python SDK
(`paddle-python-sdk`, `paddle_billing.Notifications`) as the reference signer and verifier,
over Paddle's documented `transaction.completed` payload (tests/webhooks/fixtures/paddle/)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import pytest
from paddle_billing.Notifications import Secret, Verifier
from paddle_billing.Notifications.PaddleSignature import PaddleSignature

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
)
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

SECRET = f"pdl_ntfset_fake_{secrets.token_hex(12)}"
OTHER = f"pdl_ntfset_fake_{secrets.token_hex(12)}"
BODY = hmac_cases.fixture_bytes("paddle", "transaction_completed.json")
NOW = 1_712_917_129
provider = get_provider("paddle")


def sdk_h1(body: bytes, secret: str, ts: int) -> str:
    """The `h1` Paddle's SDK computes (and compares) for `ts` and `body`."""
    return PaddleSignature.calculate_hmac(secret, f"{ts}:{body.decode()}".encode()).hexdigest()


def header(body: bytes = BODY, *keys: str, ts: int = NOW) -> str:
    return f"ts={ts};" + ";".join(f"h1={sdk_h1(body, key, ts)}" for key in keys or (SECRET,))


def verify(body: bytes, value: str | None, *, now: float = NOW + 1, keys=(SECRET,)) -> None:
    hdrs = {} if value is None else {"Paddle-Signature": value}
    provider.verify(hmac_cases.deliver(body, hdrs, now=now), EndpointSecrets(secrets=keys))


@dataclass
class _SdkRequest:
    """What `paddle_billing.Notifications.Verifier` reads from a request."""

    headers: dict[str, str]
    body: bytes


def test_header_computed_by_the_sdk_verifies_and_parses() -> None:
    verify(BODY, header())
    [event] = provider.parse(hmac_cases.deliver(BODY, {}, now=NOW))
    assert event.event_id == "evt_01hv8x2zbw8jqmt8zd7a2d8gh0"
    assert event.event_type == "transaction.completed"
    assert (
        event.occurred_at == datetime.fromisoformat("2024-04-12T10:18:49.621022+00:00").timestamp()
    )


def test_sdk_verifier_accepts_what_sign_produces_and_refuses_another_secret() -> None:
    now = int(time.time())
    signed = provider.sign(BODY, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=now)
    request = _SdkRequest(headers=signed.headers, body=signed.body)
    assert Verifier().verify(request, Secret(SECRET)) is True
    assert Verifier().verify(request, Secret(OTHER)) is False


def test_rotation_header_with_two_h1_verifies_with_either_secret() -> None:
    both = header(BODY, OTHER, SECRET)
    verify(BODY, both)
    verify(BODY, both, keys=(OTHER,))


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(BODY.replace(b"32400", b"32401", 1), header())


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(BODY, header(BODY, OTHER))


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_stale_and_future_timestamps_are_rejected(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(BODY, header(ts=NOW + offset), now=NOW)


@pytest.mark.parametrize(
    "value", ["h1=00", f"ts={NOW}", f"ts={NOW};ts={NOW};h1=00", "ts=x;h1=00", "", "ts"]
)
def test_missing_or_garbage_headers_are_rejected(value: str) -> None:
    with pytest.raises((SignatureMissing, SignatureInvalid, TimestampOutOfTolerance)):
        verify(BODY, value)


def test_missing_header_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        verify(BODY, None)


@pytest.mark.parametrize("body", [b"[]", b'{"event_type": "x"}', b'{"event_id": "evt_1"}'])
def test_payload_without_id_or_type_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(body, {}, now=NOW))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("paddle", SECRET)
    value = header(ts=int(time.time()))
    event = hmac_cases.assert_stored_once(client, endpoint, BODY, {"Paddle-Signature": value})
    assert event.event_type == "transaction.completed"


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["transaction.completed", "subscription.created"])
def test_send_test_webhook_sample_is_accepted(client, event_type: str) -> None:
    endpoint = hmac_cases.endpoint_make("paddle", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, event_type)


@pytest.mark.django_db
def test_admin_filter_lists_paddle(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("paddle", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "transaction.completed")
    hmac_cases.assert_admin_lists(admin_client, event)
