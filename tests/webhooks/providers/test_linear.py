"""Linear: `Linear-Signature` (hex HMAC-SHA256 of the body) and the signed body's
`webhookTimestamp` (ms) within 60 s; Linear's documented formula as the reference signer over
Linear's documented Issue payload (tests/webhooks/fixtures/linear/)."""

from __future__ import annotations

import hashlib
import hmac
import json
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

SECRET = f"lin_wh_fake_{secrets.token_hex(8)}"
OTHER = f"lin_wh_fake_{secrets.token_hex(8)}"
DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72"
ISSUE = hmac_cases.fixture_bytes("linear", "issue_create.json")
SENT_AT = json.loads(ISSUE)["webhookTimestamp"] / 1000
provider = get_provider("linear")


def reference_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(body: bytes = ISSUE, secret: str = SECRET) -> dict[str, str]:
    return {
        "Linear-Signature": reference_signature(body, secret),
        "Linear-Delivery": DELIVERY,
        "Linear-Event": "Issue",
    }


def verify(body: bytes, hdrs: dict[str, str], *, now: float = SENT_AT + 2, keys=(SECRET,)):
    provider.verify(hmac_cases.deliver(body, hdrs, now=now), EndpointSecrets(secrets=keys))


def test_documented_issue_signed_by_the_documented_formula_verifies_and_parses() -> None:
    verify(ISSUE, headers())
    [event] = provider.parse(hmac_cases.deliver(ISSUE, headers(), now=SENT_AT))
    assert (event.event_id, event.event_type) == (DELIVERY, "Issue")
    assert event.payload["action"] == "create"
    assert event.occurred_at == datetime.fromisoformat("2020-01-23T12:53:18.084+00:00").timestamp()


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(ISSUE, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=0)
    assert signed.headers["Linear-Signature"] == reference_signature(ISSUE)


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(ISSUE.replace(b"curl", b"curL"), headers())


def test_wrong_secret_is_rejected_and_rotation_accepts_either() -> None:
    with pytest.raises(SignatureInvalid):
        verify(ISSUE, headers(secret=OTHER))
    verify(ISSUE, headers(secret=OTHER), keys=(SECRET, OTHER))


@pytest.mark.parametrize("offset", [-61, 61, -86_400, 86_400])
def test_stale_and_future_webhook_timestamps_are_rejected(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(ISSUE, headers(), now=SENT_AT - offset)


def test_the_window_is_linears_sixty_seconds_whatever_the_endpoint_says() -> None:
    delivery = hmac_cases.deliver(ISSUE, headers(), now=SENT_AT + 120)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(delivery, EndpointSecrets(secrets=(SECRET,), tolerance_seconds=3600))


@pytest.mark.parametrize("stamp", [None, "soon", -5, 1.5e300, True])
def test_body_without_a_usable_timestamp_is_rejected(stamp: object) -> None:
    payload = json.loads(ISSUE)
    payload["webhookTimestamp"] = stamp
    body = json.dumps(payload).encode()
    with pytest.raises(TimestampOutOfTolerance):
        verify(body, headers(body))


def test_missing_signature_is_rejected() -> None:
    with pytest.raises(SignatureMissing):
        verify(ISSUE, {"Linear-Delivery": DELIVERY})


def test_delivery_without_its_delivery_id_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(ISSUE, {"Linear-Event": "Issue"}, now=SENT_AT))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("linear", SECRET)
    payload = json.loads(ISSUE)
    payload["webhookTimestamp"] = int(time.time() * 1000)
    body = json.dumps(payload).encode()
    event = hmac_cases.assert_stored_once(client, endpoint, body, headers(body))
    assert event.event_id == DELIVERY


@pytest.mark.django_db
def test_send_test_webhook_sample_is_accepted(client) -> None:
    endpoint = hmac_cases.endpoint_make("linear", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, "Issue")


@pytest.mark.django_db
def test_admin_filter_lists_linear(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("linear", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "Issue")
    hmac_cases.assert_admin_lists(admin_client, event)
