"""Generic HMAC provider: configured per endpoint; the reference is a plain stdlib HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.core.exceptions import ValidationError

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.providers.hmac import HmacOptions
from webhooks.selectors import webhook_endpoint_config_get
from webhooks.services import webhook_endpoint_create

SECRET = "fake-generic-secret"
OLD_SECRET = "fake-generic-secret-old"
NOW = 1_700_000_000
provider = get_provider("hmac")
BODY = b'{"id": "evt_42", "type": "order.paid", "data": {"order": {"ref": "ORD-1"}}}'


def deliver(headers: dict[str, str], body: bytes = BODY, *, now: float = NOW) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers), received_at=now)


def secrets(options: dict[str, str], *keys: str) -> EndpointSecrets:
    return EndpointSecrets(secrets=keys or (SECRET,), options=options)


@pytest.mark.parametrize(
    ("algorithm", "digestmod"),
    [("sha1", hashlib.sha1), ("sha256", hashlib.sha256), ("sha512", hashlib.sha512)],
)
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_algorithms_and_encodings_verify(algorithm: str, digestmod: object, encoding: str) -> None:
    digest = hmac.new(SECRET.encode(), BODY, digestmod).digest()  # type: ignore[arg-type]
    value = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    options = {
        "header": "X-Signature",
        "algorithm": algorithm,
        "encoding": encoding,
        "prefix": f"{algorithm}=",
    }
    provider.verify(deliver({"x-signature": f"{algorithm}={value}"}), secrets(options))
    signed = provider.sign(BODY, secrets(options), url="", timestamp=NOW)
    assert signed.headers["X-Signature"] == f"{algorithm}={value}"


def test_timestamped_template_verifies_and_checks_tolerance() -> None:
    options = {
        "header": "X-Sig",
        "timestamp_header": "X-Timestamp",
        "signed_content": "{timestamp}:{body}",
    }
    value = hmac.new(SECRET.encode(), f"{NOW}:".encode() + BODY, hashlib.sha256).hexdigest()
    provider.verify(deliver({"X-Sig": value, "X-Timestamp": str(NOW)}), secrets(options))
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(
            deliver({"X-Sig": value, "X-Timestamp": str(NOW)}, now=NOW + 301), secrets(options)
        )
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(
            deliver({"X-Sig": value, "X-Timestamp": str(NOW)}, now=NOW - 301), secrets(options)
        )
    with pytest.raises(SignatureMissing):
        provider.verify(deliver({"X-Sig": value}), secrets(options))


def test_sign_round_trips_with_timestamp_and_id_headers() -> None:
    options = {
        "header": "X-Sig",
        "timestamp_header": "X-Timestamp",
        "id_header": "X-Event-Id",
        "type_header": "X-Event-Type",
        "signed_content": "{id}.{timestamp}.{body}",
    }
    signed = provider.sign(
        BODY, secrets(options), url="", timestamp=NOW, event_id="e-1", event_type="order.paid"
    )
    delivery = deliver(signed.headers)
    provider.verify(delivery, secrets(options))
    [event] = provider.parse(delivery, secrets(options))
    assert (event.event_id, event.event_type) == ("e-1", "order.paid")
    tampered = deliver({**signed.headers, "X-Event-Id": "e-2"})
    with pytest.raises(SignatureInvalid):
        provider.verify(tampered, secrets(options))


def test_tampered_body_and_wrong_secret_are_rejected() -> None:
    options = {"header": "X-Sig"}
    value = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver({"X-Sig": value}, BODY + b" "), secrets(options))
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver({"X-Sig": value}), secrets(options, OLD_SECRET))


def test_missing_header_is_rejected() -> None:
    with pytest.raises(SignatureMissing):
        provider.verify(deliver({}), secrets({"header": "X-Sig"}))


def test_rotated_secret_verifies() -> None:
    value = hmac.new(OLD_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    provider.verify(deliver({"X-Sig": value}), secrets({"header": "X-Sig"}, SECRET, OLD_SECRET))


def test_base64_secret_encoding() -> None:
    key = b"\x00\x01binary-key"
    options = {"header": "X-Sig", "secret_encoding": "base64"}
    value = hmac.new(key, BODY, hashlib.sha256).hexdigest()
    provider.verify(deliver({"X-Sig": value}), secrets(options, base64.b64encode(key).decode()))


@pytest.mark.parametrize("header", ["sha256=zz", "zz", "", "sha256=", "sha256=ü"])
def test_garbage_headers_are_rejected(header: str) -> None:
    with pytest.raises((SignatureInvalid, SignatureMissing)):
        provider.verify(
            deliver({"X-Sig": header}), secrets({"header": "X-Sig", "prefix": "sha256="})
        )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({}, "header"),
        ({"header": "X", "algorithm": "md5"}, "algorithm"),
        ({"header": "X", "encoding": "base32"}, "encoding"),
        ({"header": "X", "colour": "blue"}, "colour"),
        ({"header": "X", "signed_content": "{timestamp}.{body}"}, "timestamp_header"),
        ({"header": "X", "signed_content": "no body"}, "signed_content"),
        ({"header": "X", "signed_content": "{body}{body}"}, "signed_content"),
        ({"header": "X", "signed_content": "{nonce}.{body}"}, "signed_content"),
        ({"header": "X", "id_header": "A", "id_field": "id"}, "id_field"),
        ({"header": "X", "secret_encoding": "rot13"}, "secret_encoding"),
        ({"header": 5}, "header"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], named: str) -> None:
    with pytest.raises(WebhookConfigurationError, match=named):
        provider.verify(deliver({"X": "00"}), EndpointSecrets(secrets=(SECRET,), options=options))
    with pytest.raises(WebhookConfigurationError, match=named):
        provider.check_configuration(EndpointSecrets(secrets=(SECRET,), options=options))


def test_parse_reads_configured_json_fields() -> None:
    options = {"header": "X", "id_field": "id", "type_field": "type"}
    [event] = provider.parse(deliver({}), secrets(options))
    assert (event.event_id, event.event_type) == ("evt_42", "order.paid")
    nested = {"header": "X", "id_field": "data.order.ref"}
    assert provider.parse(deliver({}), secrets(nested))[0].event_id == "ORD-1"


def test_parse_falls_back_to_body_hash_and_webhook_type() -> None:
    [event] = provider.parse(deliver({}, b"plain text body"), secrets({"header": "X"}))
    assert event.event_id == hashlib.sha256(b"plain text body").hexdigest()
    assert event.event_type == "webhook"
    assert event.payload is None


@pytest.mark.parametrize(
    ("options", "body", "headers"),
    [
        ({"header": "X", "id_field": "id"}, b"not json", {}),
        ({"header": "X", "id_field": "missing"}, BODY, {}),
        ({"header": "X", "id_field": "data"}, BODY, {}),
        ({"header": "X", "id_header": "X-Id"}, BODY, {}),
        ({"header": "X", "type_field": "type"}, b"\xff", {}),
    ],
)
def test_malformed_payload_is_rejected(
    options: dict[str, str], body: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(headers, body), secrets(options))


def test_sample_body_is_json_with_id_and_type() -> None:
    payload = json.loads(provider.sample_body("order.paid", event_id="e-9"))
    assert (payload["id"], payload["type"]) == ("e-9", "order.paid")


@pytest.mark.django_db
def test_options_are_parsed_once_with_the_endpoint_configuration(client, monkeypatch) -> None:
    """The option mini-language is parsed when the endpoint configuration is loaded and the
    parsed scheme is cached with it: deliveries never parse it again."""
    options = {"header": "X-Sig", "timestamp_header": "X-Ts", "id_field": "id"}
    endpoint = webhook_endpoint_create(
        provider="hmac", slug="hmac-parsed", secret=SECRET, options=options
    ).endpoint
    config = webhook_endpoint_config_get(slug=endpoint.slug)
    assert config is not None
    assert isinstance(config.prepared_options, HmacOptions)
    assert config.prepared_options.scheme.timestamp_header == "X-Ts"

    def refuse(cls, options):  # type: ignore[no-untyped-def]
        raise AssertionError("options parsed on the hot path")

    monkeypatch.setattr(HmacOptions, "from_options", classmethod(refuse))
    for n in range(3):
        body = json.dumps({"id": f"evt_{n}", "type": "order.paid"}).encode()
        now = str(int(time.time()))
        value = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
        response = hmac_cases.post(client, endpoint, body, {"X-Sig": value, "X-Ts": now})
        assert response.status_code == 200, response.content
    assert endpoint.events.count() == 3


@pytest.mark.django_db
def test_a_bad_option_is_refused_when_the_endpoint_is_saved_naming_it() -> None:
    endpoint = webhook_endpoint_create(
        provider="hmac", slug="hmac-bad-option", secret=SECRET, options={"header": "X-Sig"}
    ).endpoint
    endpoint.options = {"header": "X-Sig", "encoding": "base32"}
    with pytest.raises(ValidationError) as caught:
        endpoint.full_clean()
    assert "encoding" in str(caught.value.message_dict["options"])
