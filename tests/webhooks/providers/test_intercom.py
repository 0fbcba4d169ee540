"""Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>` keyed with the client
secret; Intercom's documented formula as the reference signer over Intercom's documented
notification (tests/webhooks/fixtures/intercom/)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pytest

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

SECRET = f"fake-intercom-client-secret-{secrets.token_hex(8)}"
OTHER = f"fake-intercom-client-secret-{secrets.token_hex(8)}"
BODY = hmac_cases.fixture_bytes("intercom", "conversation_user_created.json")
provider = get_provider("intercom")


def headers(body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def verify(body: bytes, hdrs: dict[str, str], *keys: str) -> None:
    provider.verify(
        hmac_cases.deliver(body, hdrs, now=time.time()), EndpointSecrets(secrets=keys or (SECRET,))
    )


def test_documented_notification_signed_by_the_documented_formula_verifies_and_parses() -> None:
    verify(BODY, headers())
    [event] = provider.parse(hmac_cases.deliver(BODY, headers(), now=time.time()))
    assert event.event_id == "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"
    assert event.event_type == "conversation.user.created"
    assert event.occurred_at == 1671012345


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(BODY, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=0)
    assert signed.headers["X-Hub-Signature"] == headers()["X-Hub-Signature"]


def test_tampered_body_and_wrong_secret_are_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(BODY.replace(b"question", b"qvestion"), headers())
    with pytest.raises(SignatureInvalid):
        verify(BODY, headers(secret=OTHER))
    verify(BODY, headers(secret=OTHER), SECRET, OTHER)


def test_a_sha256_signature_does_not_pass_for_sha1() -> None:
    value = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalid):
        verify(BODY, {"X-Hub-Signature": value})


@pytest.mark.parametrize("value", ["", "sha1=", "sha1=xyz", "deadbeef"])
def test_missing_or_garbage_signature_is_rejected(value: str) -> None:
    with pytest.raises((SignatureMissing, SignatureInvalid)):
        verify(BODY, {"X-Hub-Signature": value})


def test_no_timestamp_is_signed_so_new_endpoints_dedupe_bodies() -> None:
    assert provider.default_duplicate_body_window_hours == 24


@pytest.mark.parametrize("body", [b"[]", b'{"topic": "ping"}', b'{"id": "notif_1"}'])
def test_payload_without_id_or_topic_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(body, {}, now=time.time()))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("intercom", SECRET)
    event = hmac_cases.assert_stored_once(client, endpoint, BODY, headers())
    assert event.event_type == "conversation.user.created"


@pytest.mark.django_db
def test_send_test_webhook_sample_is_accepted(client) -> None:
    endpoint = hmac_cases.endpoint_make("intercom", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, "conversation.user.created")


@pytest.mark.django_db
def test_admin_filter_lists_intercom(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("intercom", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "conversation.user.created")
    hmac_cases.assert_admin_lists(admin_client, event)
