"""Discord interactions: PyNaCl signs (Discord's documented verifier), the PING is answered."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import responses
from django.urls import reverse
from nacl.signing import SigningKey

from webhooks.exceptions import MalformedPayload, SignatureInvalid, TimestampOutOfTolerance
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.providers.discord import snowflake_time
from webhooks.providers.samples import sample_event_types
from webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test

provider = get_provider("discord")
# The PING Discord sends to check an Interactions Endpoint URL (documented interaction shape;
# the id is a real-format snowflake, made 2023-03-04T03:08:15.624Z).
PING = (
    b'{"application_id":"1041066540380438560","id":"1081412768234176582",'
    b'"token":"interaction-token-placeholder","type":1,"version":1}'
)


@pytest.fixture(scope="module")
def signer() -> SigningKey:
    return SigningKey.generate()


def headers_for(key: SigningKey, body: bytes, timestamp: int) -> dict[str, str]:
    signed = key.sign(str(timestamp).encode() + body)
    return {"X-Signature-Ed25519": signed.signature.hex(), "X-Signature-Timestamp": str(timestamp)}


def deliver(body: bytes, headers: dict[str, str], now: float) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers), received_at=now)


def secrets_for(key: SigningKey) -> EndpointSecrets:
    return EndpointSecrets(public_key=key.verify_key.encode().hex())


@pytest.fixture
def post(client) -> Callable[..., object]:
    def _post(slug: str, body: bytes, headers: dict[str, str]):
        path = reverse("liaison_webhooks:receive", kwargs={"slug": slug})
        return client.post(path, body, content_type="application/json", headers=headers)

    return _post


def test_the_ping_verifies_and_is_answered_with_a_pong(signer) -> None:
    delivery = deliver(PING, headers_for(signer, PING, 1_700_000_000), 1_700_000_000)
    provider.verify(delivery, secrets_for(signer))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == ("1081412768234176582", "PING")
    assert event.occurred_at == pytest.approx(1677899295.624)
    answer = provider.immediate_response(delivery, [event])
    assert answer is not None
    assert json.loads(answer.body) == {"type": 1}
    assert answer.status == 200
    assert answer.content_type == "application/json"


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("APPLICATION_COMMAND", {"type": 5}),
        ("MESSAGE_COMPONENT", {"type": 6}),
        ("APPLICATION_COMMAND_AUTOCOMPLETE", {"type": 8, "data": {"choices": []}}),
        ("MODAL_SUBMIT", {"type": 5}),
    ],
)
def test_each_interaction_type_is_named_and_deferred(signer, kind, answer) -> None:
    body = provider.sample_body(kind, event_id="evt_1")
    now = int(time.time())
    delivery = deliver(body, headers_for(signer, body, now), now)
    provider.verify(delivery, secrets_for(signer))
    [event] = provider.parse(delivery)
    assert event.event_type == kind
    assert event.event_id == json.loads(body)["id"]
    assert abs((event.occurred_at or 0) - now) < 5
    response = provider.immediate_response(delivery, [event])
    assert response is not None
    assert json.loads(response.body) == answer


def test_the_signature_headers_cannot_be_renamed() -> None:
    assert provider.headers_for({"signature_header": "X-Other"}) == (
        "X-Signature-Ed25519",
        "X-Signature-Timestamp",
    )


def test_a_tampered_interaction_is_refused_with_401(signer) -> None:
    headers = headers_for(signer, PING, 1_700_000_000)
    forged = PING.replace(b'"type":1', b'"type":2')
    with pytest.raises(SignatureInvalid) as caught:
        provider.verify(deliver(forged, headers, 1_700_000_000), secrets_for(signer))
    assert caught.value.status_code == 401


def test_another_applications_key_is_refused(signer) -> None:
    headers = headers_for(SigningKey.generate(), PING, 1_700_000_000)
    with pytest.raises(SignatureInvalid):
        provider.verify(deliver(PING, headers, 1_700_000_000), secrets_for(signer))


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_refused(signer, offset) -> None:
    headers = headers_for(signer, PING, 1_700_000_000 + offset)
    with pytest.raises(TimestampOutOfTolerance):
        provider.verify(deliver(PING, headers, 1_700_000_000), secrets_for(signer))


@pytest.mark.parametrize(
    "body", [b'{"id": "1", "type": 9}', b'{"type": 1}', b'{"id": "1", "type": true}']
)
def test_bodies_that_are_not_interactions_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(body, {}, 0))


def test_snowflakes_give_the_moment_they_were_made() -> None:
    assert snowflake_time("175928847299117063") == pytest.approx(1462015105.796)
    assert snowflake_time("not-a-number") is None
    assert snowflake_time("9" * 25) is None


@pytest.mark.django_db
def test_the_view_stores_the_ping_once_and_answers_pong(post, signer) -> None:
    webhook_endpoint_create(
        provider="discord", slug="discord", public_key=signer.verify_key.encode().hex()
    )
    headers = headers_for(signer, PING, int(time.time()))

    first = post("discord", PING, headers)
    again = post("discord", PING, headers)
    unsigned = post("discord", PING, {})

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == {"type": 1} == again.json()
    assert unsigned.status_code == 401
    event = WebhookEvent.objects.get()
    assert (event.event_id, event.event_type) == ("1081412768234176582", "PING")


@pytest.mark.django_db
@responses.activate
@pytest.mark.parametrize("kind", sample_event_types("discord"))
def test_send_test_webhook_samples_are_accepted(client, signer, kind) -> None:
    created = webhook_endpoint_create(
        provider="discord",
        slug=f"discord-{kind.lower().replace('_', '-')}",
        public_key=signer.verify_key.encode().hex(),
        options={"test_private_key": bytes(signer).hex()},
    )
    endpoint: WebhookEndpoint = created.endpoint

    def forward(request):
        response = client.generic(
            "POST",
            endpoint.path,
            request.body,
            content_type="application/json",
            headers={
                k: request.headers[k] for k in ("X-Signature-Ed25519", "X-Signature-Timestamp")
            },
        )
        return response.status_code, {}, response.content

    responses.add_callback(
        responses.POST, f"http://127.0.0.1:8000{endpoint.path}", callback=forward
    )
    result = webhook_endpoint_send_test(endpoint=endpoint, event_type=kind)
    assert result.status_code == 200, result.body
    assert WebhookEvent.objects.get(endpoint=endpoint).event_type == kind
