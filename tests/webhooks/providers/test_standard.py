"""Standard Webhooks provider: the `standardwebhooks` package is the reference signer/verifier."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import standardwebhooks

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
provider = get_provider("standard")
SECRET = provider.generate_secret()
OLD_SECRET = provider.generate_secret()


def deliver(body: bytes, headers: dict[str, str], *, now: float = NOW) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers), received_at=now)


def reference_headers(
    body: bytes, secret: str = SECRET, timestamp: int = NOW, msg_id: str = "msg_1"
) -> dict[str, str]:
    signature = standardwebhooks.Webhook(secret).sign(
        msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode()
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


@pytest.fixture
def body() -> bytes:
    """Clerk's documented `user.created` event (tests/webhooks/fixtures/standard/)."""
    path = Path(__file__).resolve().parent.parent / "fixtures" / "standard"
    return (path / "clerk.user.created.json").read_bytes()


def test_generated_secret_is_whsec_base64() -> None:
    assert SECRET.startswith("whsec_")
    assert len(base64.b64decode(SECRET.removeprefix("whsec_"))) == 32
    assert SECRET != OLD_SECRET


def test_reference_signature_verifies(body: bytes) -> None:
    provider.verify(deliver(body, reference_headers(body)), EndpointSecrets(secrets=(SECRET,)))


def test_reference_library_accepts_what_sign_produces(body: bytes) -> None:
    now = int(datetime.now(tz=UTC).timestamp())
    signed = provider.sign(
        body, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=now, event_id="msg_2"
    )
    assert signed.headers["webhook-id"] == "msg_2"
    payload = standardwebhooks.Webhook(SECRET).verify(signed.body, signed.headers)
    assert payload["type"] == "user.created"


def test_svix_header_names_are_accepted(body: bytes) -> None:
    headers = {
        name.replace("webhook-", "svix-"): value for name, value in reference_headers(body).items()
    }
    delivery = deliver(body, headers)
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    assert provider.parse(delivery)[0].event_id == "msg_1"


def test_several_signatures_and_other_versions(body: bytes) -> None:
    good = reference_headers(body)["webhook-signature"]
    other = reference_headers(body, secret=OLD_SECRET)["webhook-signature"]
    headers = {**reference_headers(body), "webhook-signature": f"v1a,AAAA {other}  {good} v2,zz"}
    provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_secret_without_prefix_is_accepted(body: bytes) -> None:
    provider.verify(
        deliver(body, reference_headers(body)),
        EndpointSecrets(secrets=(SECRET.removeprefix("whsec_"),)),
    )


def test_tampered_body_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body.replace(b"user.created", b"user.deleted"), reference_headers(body)),
            EndpointSecrets(secrets=(SECRET,)),
        )


def test_tampered_id_is_rejected(body: bytes) -> None:
    headers = {**reference_headers(body), "webhook-id": "msg_other"}
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_wrong_secret_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body, reference_headers(body, secret=OLD_SECRET)),
            EndpointSecrets(secrets=(SECRET,)),
        )


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_rejected(body: bytes, offset: int) -> None:
    headers = reference_headers(body, timestamp=NOW + offset)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_rejected(body: bytes, missing: str) -> None:
    headers = reference_headers(body)
    del headers[missing]
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_rotated_secret_verifies(body: bytes) -> None:
    headers = reference_headers(body, secret=OLD_SECRET)
    provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET, OLD_SECRET)))


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        ("v1", str(NOW)),
        ("v1,", str(NOW)),
        ("v1,not base64!", str(NOW)),
        ("v2,AAAA", str(NOW)),
        ("AAAA", str(NOW)),
        ("v1,AAAA", "soon"),
        ("v1,AAAA", "1700000000.5"),
        ("v1,AAAA", "-1700000000"),
        ("v1,ÿÿÿÿ", str(NOW)),
    ],
)
def test_garbage_headers_are_rejected(body: bytes, signature: str, timestamp: str) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
    with pytest.raises((SignatureInvalid, TimestampOutOfTolerance)):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_invalid_secret_is_a_configuration_error(body: bytes) -> None:
    with pytest.raises(WebhookConfigurationError):
        provider.verify(
            deliver(body, reference_headers(body)), EndpointSecrets(secrets=("whsec_!!!",))
        )


def test_parse_reads_header_id_and_body_type(body: bytes) -> None:
    [event] = provider.parse(deliver(body, reference_headers(body)))
    assert event.event_id == "msg_1"
    assert event.event_type == "user.created"
    assert event.occurred_at is not None
    assert json.loads(event.body)["data"]["object"] == "user"


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (b"not json", {"webhook-id": "msg_1"}),
        (b"\x80", {"webhook-id": "msg_1"}),
        (b'{"type": "user.created"}', {}),
    ],
)
def test_malformed_payload_is_rejected(raw: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(raw, headers))


def test_resend_email_sample() -> None:
    payload = json.loads(provider.sample_body("email.delivered", event_id="msg_3"))
    assert payload["type"] == "email.delivered"
    assert payload["data"]["to"] == ["customer@example.com"]


def test_check_configuration_refuses_a_non_base64_secret() -> None:
    provider.check_configuration(EndpointSecrets(secrets=(SECRET,)))
    with pytest.raises(WebhookConfigurationError):
        provider.check_configuration(EndpointSecrets(secrets=("whsec_not base64!",)))


# --- the spec's test vector, untyped bodies and occurred_at (issue 12) ---------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "standard"
VECTOR = json.loads((FIXTURES / "spec_test_vector.json").read_text())
VECTOR_BODY = VECTOR["body"].encode()
VECTOR_TIME = int(VECTOR["headers"]["webhook-timestamp"])


def test_the_reference_library_reproduces_the_spec_test_vector() -> None:
    """The vector is the reference's own: if this fails, the fixture is wrong, not us."""
    headers = VECTOR["headers"]
    signature = standardwebhooks.Webhook(VECTOR["secret"]).sign(
        headers["webhook-id"], datetime.fromtimestamp(VECTOR_TIME, tz=UTC), VECTOR["body"]
    )
    assert signature == headers["webhook-signature"]


def test_the_spec_test_vector_is_verified_and_stored_untyped() -> None:
    """`type` is optional in the spec: its own vector `{"test": 2432232314}` has none."""
    delivery = deliver(VECTOR_BODY, VECTOR["headers"], now=VECTOR_TIME + 1)
    provider.verify(delivery, EndpointSecrets(secrets=(VECTOR["secret"],)))
    [event] = provider.parse(delivery)
    assert event.event_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert event.event_type == "webhook"
    assert event.payload == {"test": 2432232314}
    # No time in the body: the signed webhook-timestamp header.
    assert event.occurred_at == VECTOR_TIME


@pytest.mark.parametrize("raw", [b"[1, 2]", b'{"type": ""}', b'{"type": 7}', b"42"])
def test_bodies_without_a_string_type_get_the_untyped_type(raw: bytes) -> None:
    [event] = provider.parse(deliver(raw, {"webhook-id": "msg_9", "webhook-timestamp": "x"}))
    assert (event.event_type, event.occurred_at) == ("webhook", None)


def test_clerk_timestamp_in_milliseconds_gives_occurred_at() -> None:
    raw = (FIXTURES / "clerk.user.created.json").read_bytes()
    [event] = provider.parse(deliver(raw, {"svix-id": "msg_2", "svix-timestamp": "1654012592"}))
    assert event.event_type == "user.created"
    assert event.occurred_at == 1654012591.835


def test_resend_created_at_gives_occurred_at() -> None:
    raw = (FIXTURES / "resend.email.sent.json").read_bytes()
    [event] = provider.parse(deliver(raw, {"webhook-id": "msg_3"}))
    assert event.event_type == "email.sent"
    assert event.occurred_at == datetime(2024, 2, 22, 23, 41, 12, 126000, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "event_type", ["user.created", "user.deleted", "email.sent", "email.bounced"]
)
def test_samples_round_trip_through_the_reference_library(event_type: str) -> None:
    raw = provider.sample_body(event_type, event_id="msg_4")
    now = int(datetime.now(tz=UTC).timestamp())
    signed = provider.sign(raw, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=now)
    standardwebhooks.Webhook(SECRET).verify(raw, signed.headers)
    [event] = provider.parse(deliver(raw, signed.headers))
    assert event.event_type == event_type
    assert event.occurred_at is not None
