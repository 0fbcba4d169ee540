"""Bitbucket Cloud: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`, Atlassian's
documented formula as the reference signer, over Atlassian's documented `repo:push` example
(tests/webhooks/fixtures/bitbucket/)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime

import pytest

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

SECRET = f"fake-bitbucket-secret-{secrets.token_hex(8)}"
OTHER = f"fake-bitbucket-secret-{secrets.token_hex(8)}"
REQUEST_UUID = "1f8b6c8e-7d2a-4c1b-9f3e-5a6b7c8d9e0f"
PUSH = hmac_cases.fixture_bytes("bitbucket", "repo_push.json")
provider = get_provider("bitbucket")


def reference_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(body: bytes = PUSH, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "X-Hub-Signature": reference_signature(body, secret),
        "X-Event-Key": "repo:push",
        "X-Request-UUID": REQUEST_UUID,
        "X-Hook-UUID": "{2bdb3a0a-0000-4000-8000-000000000000}",
        **extra,
    }


def verify(body: bytes, hdrs: dict[str, str], *keys: str) -> None:
    provider.verify(
        hmac_cases.deliver(body, hdrs, now=time.time()), EndpointSecrets(secrets=keys or (SECRET,))
    )


def test_documented_push_signed_by_the_documented_formula_verifies_and_parses() -> None:
    verify(PUSH, headers())
    [event] = provider.parse(hmac_cases.deliver(PUSH, headers(), now=time.time()))
    assert (event.event_id, event.event_type) == (REQUEST_UUID, "repo:push")
    assert event.occurred_at == datetime.fromisoformat("2015-06-09T03:34:49+00:00").timestamp()


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(PUSH, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=0)
    assert signed.headers["X-Hub-Signature"] == reference_signature(PUSH)


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify(PUSH.replace(b"Emma", b"Emmy", 1), headers())


def test_wrong_secret_is_rejected_and_rotation_accepts_either() -> None:
    with pytest.raises(SignatureInvalid):
        verify(PUSH, headers(secret=OTHER))
    verify(PUSH, headers(secret=OTHER), SECRET, OTHER)


@pytest.mark.parametrize("value", ["", "sha256=", "sha1=abcd", "sha256=zz", "abc"])
def test_missing_or_garbage_signature_is_rejected(value: str) -> None:
    with pytest.raises((SignatureMissing, SignatureInvalid)):
        verify(PUSH, {**headers(), "X-Hub-Signature": value})


def test_no_timestamp_is_signed_so_new_endpoints_dedupe_bodies() -> None:
    assert provider.signs_timestamp_or_id is False
    assert provider.default_duplicate_body_window_hours == 24


@pytest.mark.parametrize("missing", ["X-Request-UUID", "X-Event-Key"])
def test_delivery_without_id_or_type_is_malformed(missing: str) -> None:
    kept = {k: v for k, v in headers().items() if k != missing}
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(PUSH, kept, now=time.time()))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("bitbucket", SECRET)
    event = hmac_cases.assert_stored_once(client, endpoint, PUSH, headers())
    assert event.event_type == "repo:push"


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["repo:push", "pullrequest:created"])
def test_send_test_webhook_sample_is_accepted(client, event_type: str) -> None:
    endpoint = hmac_cases.endpoint_make("bitbucket", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, event_type)


@pytest.mark.django_db
def test_admin_filter_lists_bitbucket(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("bitbucket", SECRET)
    hmac_cases.post(client, endpoint, PUSH, headers())
    hmac_cases.assert_admin_lists(admin_client, endpoint.events.get())
