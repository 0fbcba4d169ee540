"""Generic Ed25519 provider, signed by PyNaCl (the library Discord's docs verify with)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.urls import reverse
from nacl.signing import SigningKey

from webhooks.exceptions import (
    EndpointSettingInvalid,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)
from webhooks.models import WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.services import webhook_endpoint_create

NOW = 1_700_000_000
provider = get_provider("ed25519")
BODY = b'{"id": "evt_ed_1", "type": "order.paid", "data": {"amount": 4200}}'


@pytest.fixture(scope="module")
def signer() -> SigningKey:
    return SigningKey.generate()


def public_hex(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


def nacl_headers(
    key: SigningKey,
    body: bytes,
    *,
    timestamp: int = NOW,
    signature_header: str = "X-Signature-Ed25519",
    timestamp_header: str = "X-Signature-Timestamp",
) -> dict[str, str]:
    signature = key.sign(str(timestamp).encode() + body).signature
    return {signature_header: signature.hex(), timestamp_header: str(timestamp)}


def deliver(body: bytes, headers: dict[str, str], *, now: float = NOW) -> IncomingDelivery:
    return IncomingDelivery(
        body=body, headers=Headers(headers), received_at=now, content_type="application/json"
    )


def secrets_for(key: SigningKey, **options: Any) -> EndpointSecrets:
    return EndpointSecrets(public_key=public_hex(key), options=options)


def test_a_pynacl_signature_verifies_and_names_the_event(signer) -> None:
    delivery = deliver(BODY, nacl_headers(signer, BODY))
    provider.verify(delivery, secrets_for(signer))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == ("evt_ed_1", "order.paid")


def test_headers_and_fields_are_configurable(signer) -> None:
    body = b'{"uuid": "u-1", "kind": "ping"}'
    options = {
        "signature_header": "X-Sig",
        "timestamp_header": "X-Time",
        "id_field": "uuid",
        "type_field": "kind",
    }
    headers = nacl_headers(signer, body, signature_header="X-Sig", timestamp_header="X-Time")
    delivery = deliver(body, headers)
    provider.verify(delivery, secrets_for(signer, **options))
    [event] = provider.parse(delivery, secrets_for(signer, **options))
    assert (event.event_id, event.event_type) == ("u-1", "ping")


def test_a_body_without_id_or_type_gets_a_stable_hash_id(signer) -> None:
    body = b'{"hello": "world"}'
    delivery = deliver(body, nacl_headers(signer, body))
    first, second = provider.parse(delivery)[0], provider.parse(delivery)[0]
    assert first.event_id == second.event_id
    assert first.event_id.startswith("ed25519:")
    assert first.event_type == "webhook"


def test_a_tampered_body_is_refused_with_401(signer) -> None:
    headers = nacl_headers(signer, BODY)
    with pytest.raises(SignatureInvalid) as caught:
        provider.verify(deliver(BODY.replace(b"4200", b"1"), headers), secrets_for(signer))
    assert caught.value.status_code == 401


def test_a_signature_over_another_timestamp_is_refused(signer) -> None:
    headers = nacl_headers(signer, BODY)
    headers["X-Signature-Timestamp"] = str(NOW + 1)
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(BODY, headers), secrets_for(signer))


def test_another_key_is_refused(signer) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(BODY, nacl_headers(SigningKey.generate(), BODY)), secrets_for(signer)
        )


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_refused(signer, offset: int) -> None:
    headers = nacl_headers(signer, BODY, timestamp=NOW + offset)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(deliver(BODY, headers), secrets_for(signer))


@pytest.mark.parametrize("missing", ["X-Signature-Ed25519", "X-Signature-Timestamp"])
def test_missing_headers_are_refused_with_401(signer, missing: str) -> None:
    headers = nacl_headers(signer, BODY)
    del headers[missing]
    with pytest.raises(SignatureMissing) as caught:
        provider.verify(deliver(BODY, headers), secrets_for(signer))
    assert caught.value.status_code == 401


@pytest.mark.parametrize("value", ["zz", "ab" * 63, "ab" * 65, "", "0x" + "ab" * 64])
def test_garbage_signatures_are_refused(signer, value: str) -> None:
    headers = {**nacl_headers(signer, BODY), "X-Signature-Ed25519": value or " "}
    with pytest.raises((SignatureInvalid, SignatureMissing)):
        provider.verify(deliver(BODY, headers), secrets_for(signer))


def test_settings_name_the_bad_field(signer) -> None:
    for secrets, field in (
        (EndpointSecrets(public_key="not-hex"), "public_key"),
        (EndpointSecrets(options={"signature_header": "bad header"}), "options"),
        (EndpointSecrets(options={"test_private_key": "12"}), "options"),
        (EndpointSecrets(options={"algorithm": "x"}), "options"),
    ):
        with pytest.raises(EndpointSettingInvalid) as caught:
            provider.check_settings(secrets)
        assert caught.value.field == field
    provider.check_settings(secrets_for(signer))
    with pytest.raises(WebhookConfigurationError):
        provider.check_configuration(EndpointSecrets())


def test_sign_matches_pynacl_for_the_same_seed(signer) -> None:
    options = {"test_private_key": bytes(signer).hex()}
    signed = provider.sign(BODY, secrets_for(signer, **options), url="", timestamp=NOW)
    assert signed.headers == {**signed.headers, **nacl_headers(signer, BODY)}


@pytest.mark.django_db
def test_view_stores_once_and_answers_401_to_forgeries(client, signer) -> None:
    webhook_endpoint_create(provider="ed25519", slug="ed", public_key=public_hex(signer))
    path = reverse("liaison_webhooks:receive", kwargs={"slug": "ed"})
    headers = nacl_headers(signer, BODY, timestamp=int(time.time()))

    first = client.post(path, BODY, content_type="application/json", headers=headers)
    again = client.post(path, BODY, content_type="application/json", headers=headers)
    forged = client.post(path, BODY + b" ", content_type="application/json", headers=headers)

    assert (first.status_code, again.status_code, forged.status_code) == (200, 200, 401)
    assert again.json()["duplicates"] == 1
    assert WebhookEvent.objects.get().event_id == "evt_ed_1"


def test_the_sample_verifies_when_signed_for_a_test_delivery(signer) -> None:
    secrets = secrets_for(signer, test_private_key=bytes(signer).hex())
    body = provider.sample_body("order.paid", event_id="evt_sample")
    signed = provider.sign(body, secrets, url="", timestamp=NOW)
    delivery = deliver(signed.body, signed.headers)
    provider.verify(delivery, secrets)
    [event] = provider.parse(delivery, secrets)
    assert (event.event_id, event.event_type) == ("evt_sample", "order.paid")
    assert json.loads(body)["created"] > 0
