"""Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=hex(HMAC(id + timestamp +
body))`, RFC 3339 timestamps within 10 minutes, the `webhook_callback_verification` challenge
and `revocation`; Twitch's documented formula as the reference signer over Twitch's
documented messages (tests/webhooks/fixtures/twitch/)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

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

SECRET = f"fake-twitch-secret-{secrets.token_hex(8)}"
OTHER = f"fake-twitch-secret-{secrets.token_hex(8)}"
FOLLOW = hmac_cases.fixture_bytes("twitch", "channel_follow_notification.json")
CHALLENGE = hmac_cases.fixture_bytes("twitch", "webhook_callback_verification.json")
REVOCATION = hmac_cases.fixture_bytes("twitch", "revocation.json")
MESSAGE_ID = "befa7b53-d79d-478f-86b9-120f112b044e"
provider = get_provider("twitch")


def rfc3339(epoch: float) -> str:
    """Twitch's format: nanoseconds and `Z`."""
    moment = datetime.fromtimestamp(int(epoch), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "123456789Z"


def twitch_headers(
    body: bytes,
    *,
    sent: float,
    kind: str = "notification",
    secret: str = SECRET,
    message_id: str = MESSAGE_ID,
) -> dict[str, str]:
    timestamp = rfc3339(sent)
    message = message_id.encode() + timestamp.encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Message-Type": kind,
        "Twitch-Eventsub-Message-Signature": f"sha256={digest}",
        "Twitch-Eventsub-Message-Timestamp": timestamp,
        "Twitch-Eventsub-Subscription-Type": "channel.follow",
        "Twitch-Eventsub-Subscription-Version": "2",
    }


def verify(body: bytes, hdrs: dict[str, str], *, now: float, keys=(SECRET,)) -> None:
    provider.verify(hmac_cases.deliver(body, hdrs, now=now), EndpointSecrets(secrets=keys))


def test_documented_notification_signed_by_the_documented_formula_verifies_and_parses() -> None:
    now = time.time()
    hdrs = twitch_headers(FOLLOW, sent=now)
    verify(FOLLOW, hdrs, now=now)
    [event] = provider.parse(hmac_cases.deliver(FOLLOW, hdrs, now=now))
    assert (event.event_id, event.event_type) == (MESSAGE_ID, "channel.follow")
    assert event.occurred_at == pytest.approx(int(now) + 0.123456789)


def test_sign_matches_the_documented_formula() -> None:
    signed = provider.sign(
        FOLLOW,
        EndpointSecrets(secrets=(SECRET,)),
        url="",
        timestamp=1_700_000_000,
        event_id=MESSAGE_ID,
    )
    message = MESSAGE_ID.encode() + b"2023-11-14T22:13:20Z" + FOLLOW
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert signed.headers["Twitch-Eventsub-Message-Signature"] == f"sha256={expected}"
    assert signed.headers["Twitch-Eventsub-Message-Timestamp"] == "2023-11-14T22:13:20Z"


def test_tampered_body_id_and_wrong_secret_are_rejected() -> None:
    now = time.time()
    hdrs = twitch_headers(FOLLOW, sent=now)
    with pytest.raises(SignatureInvalid):
        verify(FOLLOW.replace(b"cool_user", b"cold_user"), hdrs, now=now)
    with pytest.raises(SignatureInvalid):
        verify(FOLLOW, {**hdrs, "Twitch-Eventsub-Message-Id": "another-id"}, now=now)
    with pytest.raises(SignatureInvalid):
        verify(FOLLOW, twitch_headers(FOLLOW, sent=now, secret=OTHER), now=now)
    verify(FOLLOW, twitch_headers(FOLLOW, sent=now, secret=OTHER), now=now, keys=(SECRET, OTHER))


@pytest.mark.parametrize("offset", [-601, 601, -86_400, 86_400])
def test_stale_and_future_timestamps_are_rejected(offset: int) -> None:
    now = time.time()
    with pytest.raises(TimestampOutOfTolerance):
        verify(FOLLOW, twitch_headers(FOLLOW, sent=now + offset), now=now)


def test_the_window_is_twitchs_ten_minutes() -> None:
    now = time.time()
    verify(FOLLOW, twitch_headers(FOLLOW, sent=now - 500), now=now)


@pytest.mark.parametrize("value", ["1700000000", "2023-11-14 22:13:20", "yesterday", ""])
def test_timestamps_that_are_not_rfc3339_are_rejected(value: str) -> None:
    now = time.time()
    hdrs = {**twitch_headers(FOLLOW, sent=now), "Twitch-Eventsub-Message-Timestamp": value}
    with pytest.raises((TimestampOutOfTolerance, SignatureMissing)):
        verify(FOLLOW, hdrs, now=now)


@pytest.mark.parametrize(
    "missing",
    [
        "Twitch-Eventsub-Message-Signature",
        "Twitch-Eventsub-Message-Id",
        "Twitch-Eventsub-Message-Timestamp",
    ],
)
def test_missing_headers_are_rejected(missing: str) -> None:
    now = time.time()
    hdrs = {k: v for k, v in twitch_headers(FOLLOW, sent=now).items() if k != missing}
    with pytest.raises(SignatureMissing):
        verify(FOLLOW, hdrs, now=now)


def test_unknown_message_type_is_malformed() -> None:
    now = time.time()
    hdrs = twitch_headers(FOLLOW, sent=now, kind="surprise")
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(FOLLOW, hdrs, now=now))


def test_challenge_is_answered_with_the_raw_challenge_as_plain_text() -> None:
    now = time.time()
    hdrs = twitch_headers(CHALLENGE, sent=now, kind="webhook_callback_verification")
    delivery = hmac_cases.deliver(CHALLENGE, hdrs, now=now)
    verify(CHALLENGE, hdrs, now=now)
    events = provider.parse(delivery)
    assert events[0].event_type == "webhook_callback_verification"
    response = provider.immediate_response(delivery, events)
    assert response is not None
    assert (response.status, response.body, response.content_type) == (
        200,
        b"pogchamp-kappa-360noscope-vohiyo",
        "text/plain",
    )


@pytest.mark.django_db
def test_the_view_answers_the_challenge_and_records_it(client) -> None:
    endpoint = hmac_cases.endpoint_make("twitch", SECRET)
    hdrs = twitch_headers(CHALLENGE, sent=time.time(), kind="webhook_callback_verification")
    response = hmac_cases.post(client, endpoint, CHALLENGE, hdrs)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"pogchamp-kappa-360noscope-vohiyo"
    assert endpoint.events.get().event_type == "webhook_callback_verification"


@pytest.mark.django_db
def test_a_forged_challenge_is_not_answered(client) -> None:
    endpoint = hmac_cases.endpoint_make("twitch", SECRET)
    hdrs = twitch_headers(
        CHALLENGE, sent=time.time(), kind="webhook_callback_verification", secret=OTHER
    )
    response = hmac_cases.post(client, endpoint, CHALLENGE, hdrs)
    assert response.status_code == 400
    assert b"pogchamp" not in response.content


@pytest.mark.django_db
def test_revocation_is_recorded(client) -> None:
    endpoint = hmac_cases.endpoint_make("twitch", SECRET)
    hdrs = twitch_headers(REVOCATION, sent=time.time(), kind="revocation")
    assert hmac_cases.post(client, endpoint, REVOCATION, hdrs).status_code == 200
    event = endpoint.events.get()
    assert event.event_type == "revocation"
    assert b"authorization_revoked" in bytes(event.body)


@pytest.mark.django_db
def test_resent_message_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("twitch", SECRET)
    hdrs = twitch_headers(FOLLOW, sent=time.time())
    event = hmac_cases.assert_stored_once(client, endpoint, FOLLOW, hdrs)
    assert event.event_id == MESSAGE_ID


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event_type", ["channel.follow", "webhook_callback_verification", "revocation"]
)
def test_send_test_webhook_sample_is_accepted(client, event_type: str) -> None:
    endpoint = hmac_cases.endpoint_make("twitch", SECRET)
    hmac_cases.assert_send_test_accepted(client, endpoint, event_type)


@pytest.mark.django_db
def test_admin_filter_lists_twitch(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("twitch", SECRET)
    event = hmac_cases.assert_send_test_accepted(client, endpoint, "channel.follow")
    hmac_cases.assert_admin_lists(admin_client, event)
