"""Twilio provider: the `twilio` package's `RequestValidator` is the reference signer/verifier."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from django.http import QueryDict
from twilio.request_validator import RequestValidator

from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery

TOKEN = "fake_twilio_auth_token_primary"
OLD_TOKEN = "fake_twilio_auth_token_previous"
URL = "https://hooks.example.com/webhooks/twilio-sms/?source=status"
FORM = "application/x-www-form-urlencoded"
provider = get_provider("twilio")


def deliver(
    body: bytes, headers: dict[str, str], *, url: str = URL, content_type: str = FORM
) -> IncomingDelivery:
    form = parse_qs(body.decode(), keep_blank_values=True) if content_type == FORM else {}
    return IncomingDelivery(
        body=body, headers=Headers(headers), url=url, content_type=content_type, form=form
    )


def reference_signature(body: bytes, token: str = TOKEN, url: str = URL) -> str:
    # A QueryDict, as a Django view would pass: the validator reads repeated names with getlist.
    return RequestValidator(token).compute_signature(url, QueryDict(body.decode()))


@pytest.fixture
def body() -> bytes:
    """Twilio's documented message status callback (tests/webhooks/fixtures/twilio/)."""
    path = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
    return (path / "message_status_delivered.form").read_bytes()


def test_reference_signature_verifies(body: bytes) -> None:
    headers = {"X-Twilio-Signature": reference_signature(body)}
    provider.verify(deliver(body, headers), EndpointSecrets(secrets=(TOKEN,)))


def test_request_validator_accepts_what_sign_produces(body: bytes) -> None:
    signed = provider.sign(body, EndpointSecrets(secrets=(TOKEN,)), url=URL, timestamp=0)
    params = {name: values[0] for name, values in parse_qs(signed.body.decode()).items()}
    assert RequestValidator(TOKEN).validate(URL, params, signed.headers["X-Twilio-Signature"])
    assert not RequestValidator(OLD_TOKEN).validate(
        URL, params, signed.headers["X-Twilio-Signature"]
    )
    assert signed.content_type == FORM


def test_repeated_parameters_are_signed_like_the_reference() -> None:
    body = b"MessageSid=SM1&MessageStatus=sent&MediaUrl=b&MediaUrl=a&Empty="
    headers = {"X-Twilio-Signature": reference_signature(body)}
    provider.verify(deliver(body, headers), EndpointSecrets(secrets=(TOKEN,)))


def test_form_is_parsed_from_the_body_when_not_given(body: bytes) -> None:
    delivery = IncomingDelivery(
        body=body,
        headers=Headers({"X-Twilio-Signature": reference_signature(body)}),
        url=URL,
        content_type=FORM,
    )
    provider.verify(delivery, EndpointSecrets(secrets=(TOKEN,)))


@pytest.mark.parametrize(
    ("signed_url", "received_url"),
    [
        ("https://hooks.example.com:443/webhooks/t/", "https://hooks.example.com/webhooks/t/"),
        ("https://hooks.example.com/webhooks/t/", "https://hooks.example.com:443/webhooks/t/"),
    ],
)
def test_url_with_or_without_default_port_verifies(
    body: bytes, signed_url: str, received_url: str
) -> None:
    headers = {"X-Twilio-Signature": reference_signature(body, url=signed_url)}
    provider.verify(deliver(body, headers, url=received_url), EndpointSecrets(secrets=(TOKEN,)))


def test_other_url_is_rejected(body: bytes) -> None:
    headers = {"X-Twilio-Signature": reference_signature(body)}
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body, headers, url="http://internal:8000/webhooks/twilio-sms/?source=status"),
            EndpointSecrets(secrets=(TOKEN,)),
        )


def test_json_body_with_body_sha256_verifies() -> None:
    raw = b'{"MessageSid": "SM1", "MessageStatus": "delivered"}'
    url = URL + "&bodySHA256=" + hashlib.sha256(raw).hexdigest()
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    assert RequestValidator(TOKEN).validate(url, raw.decode(), signature)
    delivery = deliver(
        raw, {"X-Twilio-Signature": signature}, url=url, content_type="application/json"
    )
    provider.verify(delivery, EndpointSecrets(secrets=(TOKEN,)))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == ("SM1:delivered", "message.delivered")
    tampered = deliver(
        raw.replace(b"delivered", b"failed"),
        {"X-Twilio-Signature": signature},
        url=url,
        content_type="application/json",
    )
    with pytest.raises(SignatureInvalid):
        provider.verify(tampered, EndpointSecrets(secrets=(TOKEN,)))


def test_shared_key_hmac_sha256_is_honoured(body: bytes) -> None:
    signature = RequestValidator(TOKEN).compute_signature(
        URL, QueryDict(body.decode()), "HMAC_SHA256"
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }
    provider.verify(deliver(body, headers), EndpointSecrets(secrets=(TOKEN,)))
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(
                body, {**headers, "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5"}
            ),
            EndpointSecrets(secrets=(TOKEN,)),
        )


def test_tampered_body_is_rejected(body: bytes) -> None:
    headers = {"X-Twilio-Signature": reference_signature(body)}
    tampered = body.replace(b"delivered", b"failed")
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(tampered, headers), EndpointSecrets(secrets=(TOKEN,)))


def test_wrong_token_is_rejected(body: bytes) -> None:
    headers = {"X-Twilio-Signature": reference_signature(body, OLD_TOKEN)}
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(body, headers), EndpointSecrets(secrets=(TOKEN,)))


def test_missing_header_is_rejected(body: bytes) -> None:
    with pytest.raises(SignatureMissing):
        provider.verify(deliver(body, {}), EndpointSecrets(secrets=(TOKEN,)))


def test_rotated_token_verifies(body: bytes) -> None:
    headers = {"X-Twilio-Signature": reference_signature(body, OLD_TOKEN)}
    provider.verify(deliver(body, headers), EndpointSecrets(secrets=(TOKEN, OLD_TOKEN)))


@pytest.mark.parametrize("signature", ["not base64!", "AAAA", "ÿÿÿÿ", "====", "a" * 9000])
def test_garbage_headers_are_rejected(body: bytes, signature: str) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(body, {"X-Twilio-Signature": signature}), EndpointSecrets(secrets=(TOKEN,))
        )


def test_non_utf8_form_body_is_rejected() -> None:
    delivery = IncomingDelivery(
        body=b"Body=%FF\xff",
        headers=Headers({"X-Twilio-Signature": "AAAA"}),
        url=URL,
        content_type=FORM,
    )
    with pytest.raises((MalformedPayload, SignatureInvalid)):
        provider.verify(delivery, EndpointSecrets(secrets=(TOKEN,)))


@pytest.mark.parametrize(
    ("fields", "event_id", "event_type"),
    [
        (
            {"MessageSid": "SM1", "MessageStatus": "sent", "SmsStatus": "sent"},
            "SM1:sent",
            "message.sent",
        ),
        (
            {"SmsSid": "SM2", "SmsStatus": "received", "Body": "hi"},
            "SM2:received",
            "message.received",
        ),
        (
            {
                "CallSid": "CA1",
                "CallStatus": "completed",
                "CallbackSource": "call-progress-events",
                "SequenceNumber": "3",
            },
            "CA1:completed:call-progress-events-3",
            "call.completed",
        ),
        (
            {"CallSid": "CA1", "RecordingSid": "RE1", "RecordingStatus": "completed"},
            "RE1:completed",
            "recording.completed",
        ),
        (
            {"ConversationSid": "CH1", "EventType": "onConversationAdded"},
            "CH1:onConversationAdded",
            "onConversationAdded",
        ),
    ],
)
def test_parse_identifies_the_resource_and_status(
    fields: dict[str, str], event_id: str, event_type: str
) -> None:
    [event] = provider.parse(deliver(urlencode(fields).encode(), {}))
    assert (event.event_id, event.event_type) == (event_id, event_type)


def test_status_callbacks_of_one_message_get_distinct_ids() -> None:
    sent = provider.parse(deliver(b"MessageSid=SM1&MessageStatus=sent", {}))[0]
    delivered = provider.parse(deliver(b"MessageSid=SM1&MessageStatus=delivered", {}))[0]
    assert sent.event_id != delivered.event_id


def test_unrecognised_delivery_uses_the_idempotency_token() -> None:
    [event] = provider.parse(deliver(b"Foo=bar", {"I-Twilio-Idempotency-Token": "tok-1"}))
    assert (event.event_id, event.event_type) == ("tok-1", "webhook")


def test_response_is_empty_twiml(body: bytes) -> None:
    delivery = deliver(body, {})
    response = provider.immediate_response(delivery, provider.parse(delivery))
    assert response is not None
    assert response.content_type == "text/xml"
    assert response.body.endswith(b"<Response/>")


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"", FORM),
        (b"\xff=1", FORM),
        (b"not json", "application/json"),
        (b"[1]", "application/json"),
        (b"[]", "application/json"),
    ],
)
def test_malformed_payload_is_rejected(raw: bytes, content_type: str) -> None:
    delivery = IncomingDelivery(body=raw, headers=Headers({}), url=URL, content_type=content_type)
    with pytest.raises(MalformedPayload):
        provider.parse(delivery)


@pytest.mark.parametrize(
    "event_type", ["message.delivered", "message.failed", "message.received", "call.completed"]
)
def test_samples_round_trip(event_type: str) -> None:
    raw = provider.sample_body(event_type, event_id="evt-2")
    signed = provider.sign(raw, EndpointSecrets(secrets=(TOKEN,)), url=URL, timestamp=0)
    delivery = deliver(signed.body, signed.headers)
    provider.verify(delivery, EndpointSecrets(secrets=(TOKEN,)))
    [event] = provider.parse(delivery)
    assert event.event_type == event_type


# --- distinct ids for one call's requests, occurred_at (issue 12) ---------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"


def fixture_params(name: str) -> dict[str, str]:
    params: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text())["params"]
    return params


def signed_delivery(params: dict[str, str], **headers: str) -> IncomingDelivery:
    body = urlencode(sorted(params.items())).encode()
    delivery = deliver(body, {"X-Twilio-Signature": reference_signature(body), **headers})
    provider.verify(delivery, EndpointSecrets(secrets=(TOKEN,)))
    return delivery


def test_voice_webhook_and_its_ringing_status_callback_are_two_events() -> None:
    """Both say `CallStatus=ringing` for one CallSid; the second used to be dropped as a
    duplicate of the first."""
    [voice] = provider.parse(signed_delivery(fixture_params("voice_webhook")))
    [ringing] = provider.parse(signed_delivery(fixture_params("call_status_ringing")))
    assert voice.event_type == ringing.event_type == "call.ringing"
    assert voice.event_id != ringing.event_id
    assert ringing.event_id == ("CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:ringing:call-progress-events-0")


@pytest.mark.parametrize("name", ["voice_webhook", "call_status_ringing", "call_status_completed"])
def test_a_retry_of_one_request_keeps_its_id(name: str) -> None:
    """A retry repeats the parameters; only the (unsigned) idempotency token may differ."""
    params = fixture_params(name)
    [first] = provider.parse(signed_delivery(params, **{"I-Twilio-Idempotency-Token": "t-1"}))
    [retry] = provider.parse(signed_delivery(params, **{"I-Twilio-Idempotency-Token": "t-2"}))
    assert first.event_id == retry.event_id


def test_gather_actions_of_one_call_get_distinct_ids() -> None:
    params = {**fixture_params("voice_webhook"), "CallStatus": "in-progress"}
    [first] = provider.parse(signed_delivery({**params, "Digits": "1"}))
    [second] = provider.parse(signed_delivery({**params, "Digits": "2"}))
    assert first.event_id != second.event_id


def test_status_callback_timestamp_gives_occurred_at() -> None:
    [ringing] = provider.parse(signed_delivery(fixture_params("call_status_ringing")))
    assert ringing.occurred_at == datetime(2010, 8, 16, 3, 45, 1, tzinfo=UTC).timestamp()
    [voice] = provider.parse(signed_delivery(fixture_params("voice_webhook")))
    assert voice.occurred_at is None


@pytest.mark.parametrize("timestamp", ["not a date", "Mon, 16 Aug 99999 03:45:01 +0000", ""])
def test_an_unreadable_timestamp_gives_no_occurred_at(timestamp: str) -> None:
    params = {**fixture_params("call_status_ringing"), "Timestamp": timestamp}
    [event] = provider.parse(signed_delivery(params))
    assert event.occurred_at is None


@pytest.mark.parametrize("event_type", ["call.ringing", "message.sent", "message.undelivered"])
def test_samples_of_other_statuses_round_trip(event_type: str) -> None:
    raw = provider.sample_body(event_type, event_id="evt-3")
    [event] = provider.parse(deliver(raw, {}))
    assert event.event_type == event_type
