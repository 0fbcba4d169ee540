"""Slack provider: Slack's documented signing example is the reference signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
)
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery

# https://api.slack.com/authentication/verifying-requests-from-slack (documentation placeholders)
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = 1531420618
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibI"
    b"GlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
FORM = "application/x-www-form-urlencoded"

SECRET = "fake-slack-signing-secret"
OLD_SECRET = "fake-slack-signing-secret-old"
NOW = 1_700_000_000
provider = get_provider("slack")


def deliver(
    body: bytes,
    headers: dict[str, str],
    *,
    now: float = NOW,
    content_type: str = "application/json",
) -> IncomingDelivery:
    return IncomingDelivery(
        body=body, headers=Headers(headers), received_at=now, content_type=content_type
    )


def signed(body: bytes, secret: str = SECRET, timestamp: int = NOW) -> dict[str, str]:
    """Headers signed with Slack's documented formula (`v0:<ts>:<body>`, hex HMAC-SHA256)."""
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(timestamp)}


def documented(name: str) -> bytes:
    """A payload from Slack's documentation (tests/webhooks/fixtures/slack/)."""
    return (Path(__file__).resolve().parent.parent / "fixtures" / "slack" / name).read_bytes()


def test_documented_example_verifies_and_parses_as_a_slash_command() -> None:
    headers = {"X-Slack-Signature": DOC_SIGNATURE, "X-Slack-Request-Timestamp": str(DOC_TIMESTAMP)}
    delivery = deliver(DOC_BODY, headers, now=DOC_TIMESTAMP + 10, content_type=FORM)
    provider.verify(delivery, EndpointSecrets(secrets=(DOC_SECRET,)))
    [event] = provider.parse(delivery)
    assert event.event_type == "slash_command"
    assert event.event_id == "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    assert event.payload["command"] == "/webhook-collect"


def test_sign_reproduces_the_documented_signature() -> None:
    headers = provider.sign(
        DOC_BODY, EndpointSecrets(secrets=(DOC_SECRET,)), url="", timestamp=DOC_TIMESTAMP
    ).headers
    assert headers["X-Slack-Signature"] == DOC_SIGNATURE
    assert signed(DOC_BODY, DOC_SECRET, DOC_TIMESTAMP)["X-Slack-Signature"] == DOC_SIGNATURE


def test_event_callback_verifies_and_parses() -> None:
    body = documented("app_mention.json")
    delivery = deliver(body, signed(body))
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    [event] = provider.parse(delivery)
    assert event.event_id == "Ev0LAN670R"
    assert event.event_type == "app_mention"
    assert event.occurred_at == pytest.approx(1515449522.000016)
    assert provider.immediate_response(delivery, [event]) is None


def test_tampered_body_is_rejected() -> None:
    body = documented("app_mention.json")
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body + b" ", signed(body)), EndpointSecrets(secrets=(SECRET,)))


def test_wrong_secret_is_rejected() -> None:
    body = documented("app_mention.json")
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, signed(body, OLD_SECRET)), EndpointSecrets(secrets=(SECRET,)))


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_rejected(offset: int) -> None:
    body = documented("app_mention.json")
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(
            deliver(body, signed(body, timestamp=NOW + offset)), EndpointSecrets(secrets=(SECRET,))
        )


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_missing_headers_are_rejected(missing: str) -> None:
    body = documented("app_mention.json")
    headers = dict(signed(body))
    del headers[missing]
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_rotated_secret_verifies() -> None:
    body = documented("app_mention.json")
    provider.verify(
        deliver(body, signed(body, OLD_SECRET)), EndpointSecrets(secrets=(SECRET, OLD_SECRET))
    )


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        ("a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", str(NOW)),
        ("v1=00", str(NOW)),
        ("v0=zz", str(NOW)),
        ("v0=", str(NOW)),
        ("v0=00", "1.5e9"),
        ("v0=00", "-1"),
        ("v0=00", "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660"),
        ("v0=00", "9" * 400),
    ],
)
def test_garbage_headers_are_rejected(signature: str, timestamp: str) -> None:
    body = documented("app_mention.json")
    headers = {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": timestamp}
    with pytest.raises((SignatureInvalid, TimestampOutOfTolerance)):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(SECRET,)))


def test_url_verification_is_answered_with_the_challenge() -> None:
    body = documented("url_verification.json")
    delivery = deliver(body, signed(body))
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    events = provider.parse(delivery)
    assert events[0].event_type == "url_verification"
    response = provider.immediate_response(delivery, events)
    assert response is not None
    assert response.status == 200
    assert json.loads(response.body) == {"challenge": json.loads(body)["challenge"]}


def test_app_rate_limited_is_parsed() -> None:
    body = json.dumps(
        {
            "token": "x",
            "type": "app_rate_limited",
            "team_id": "T1",
            "minute_rate_limited": 1518467820,
            "api_app_id": "A1",
        }
    ).encode()
    [event] = provider.parse(deliver(body, {}))
    assert (event.event_id, event.event_type) == (
        "app_rate_limited:T1:1518467820",
        "app_rate_limited",
    )


def test_interactivity_payload_is_parsed() -> None:
    inner = {
        "type": "block_actions",
        "trigger_id": "123.456.abc",
        "actions": [{"action_id": "approve"}],
    }
    body = urlencode({"payload": json.dumps(inner)}).encode()
    delivery = deliver(body, signed(body), content_type=FORM)
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == ("123.456.abc", "block_actions")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"type": "event_callback", "event_id": "Ev1"}', "application/json"),
        (b'{"type": "event_callback", "event": {"type": "message"}}', "application/json"),
        (b'{"type": "block_actions"}', "application/json"),
        (b"text=hello", FORM),
        (b"payload=%7B%7D", FORM),
        (b"payload=%FF", FORM),
    ],
)
def test_malformed_payload_is_rejected(body: bytes, content_type: str) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(body, {}, content_type=content_type))


# --- interactivity payloads, occurred_at and samples (issue 12) ----------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slack"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_interactivity_payload_reaches_handlers_as_the_parsed_object() -> None:
    """Slack posts interactions as a form whose `payload` field holds JSON: handlers get the
    JSON object (from parse and from the stored event), the stored bytes stay the form."""
    inner = json.loads(fixture_bytes("block_actions.json"))
    body = urlencode({"payload": json.dumps(inner)}).encode()
    delivery = deliver(body, signed(body), content_type=FORM)
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    [event] = provider.parse(delivery)
    assert (event.event_type, event.event_id) == ("block_actions", inner["trigger_id"])
    assert event.body == body
    assert event.payload == inner
    assert provider.stored_payload(body, {"content-type": FORM}) == inner
    # The action's action_ts: seconds with microseconds after the dot.
    assert event.occurred_at == 1548426417.840180


def test_slash_commands_stay_form_fields_for_handlers() -> None:
    payload = provider.stored_payload(DOC_BODY, {"content-type": FORM})
    assert payload["command"] == "/webhook-collect"


def test_event_time_in_microseconds_gives_occurred_at() -> None:
    """Slack's own app_mention example carries `event_time` (and `event_ts`) in microseconds."""
    [event] = provider.parse(deliver(fixture_bytes("app_mention.json"), {}))
    assert event.occurred_at == 1515449522.000016


def test_event_ts_gives_occurred_at_when_event_time_is_absent() -> None:
    payload = json.loads(fixture_bytes("app_mention.json"))
    del payload["event_time"]
    payload["event"]["event_ts"] = "1515449522.000016"
    [event] = provider.parse(deliver(json.dumps(payload).encode(), {}))
    assert event.occurred_at == 1515449522.000016


@pytest.mark.parametrize("event_type", ["app_mention", "message", "reaction_added"])
def test_samples_parse_with_their_type_and_time(event_type: str) -> None:
    body = provider.sample_body(event_type, event_id="Ev0SAMPLE9")
    [event] = provider.parse(deliver(body, {}))
    assert (event.event_type, event.event_id) == (event_type, "Ev0SAMPLE9")
    assert event.occurred_at is not None
