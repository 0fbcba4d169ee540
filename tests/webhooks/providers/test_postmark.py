"""Postmark: Basic credentials on the webhook URL, Postmark's documented example payloads."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
import responses
from django.core.exceptions import ValidationError
from django.urls import reverse

from webhooks.exceptions import EndpointSettingInvalid
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.providers.postmark import PostmarkCredentialsInvalid, PostmarkCredentialsMissing
from webhooks.providers.samples import sample_event_types
from webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "postmark"
provider = get_provider("postmark")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def credentials() -> str:
    return f"postmark-hooks:{secrets.token_urlsafe(12)}"


def basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode()).decode()


def deliver(body: bytes, headers: dict[str, str]) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers), content_type="application/json")


def receive_path(slug: str) -> str:
    return reverse("liaison_webhooks:receive", kwargs={"slug": slug})


def test_documented_bounce_with_the_right_credentials_is_parsed() -> None:
    pair = credentials()
    delivery = deliver(fixture("bounce.json"), {"Authorization": basic(pair)})
    provider.verify(delivery, EndpointSecrets(secrets=(pair,)))
    [event] = provider.parse(delivery)
    assert event.event_type == "Bounce"
    assert event.event_id == "Bounce:4323372036854775807"
    assert event.occurred_at == pytest.approx(1572971634.907, abs=0.001)
    assert provider.event_subject(event) == "883953f4-6105-42a2-a16a-77a8eac79483"


def test_delivery_and_open_ids_name_the_message_but_no_address() -> None:
    [delivery_event] = provider.parse(deliver(fixture("delivery.json"), {}))
    [open_event] = provider.parse(deliver(fixture("open.json"), {}))
    assert delivery_event.event_type == "Delivery"
    assert open_event.event_type == "Open"
    for event in (delivery_event, open_event):
        assert event.event_id.startswith(f"{event.event_type}:00000000-0000-0000-0000-0000")
        assert "@" not in event.event_id
    assert delivery_event.event_id != open_event.event_id


def test_any_active_credentials_verify_during_rotation() -> None:
    old, new = credentials(), credentials()
    delivery = deliver(fixture("delivery.json"), {"Authorization": basic(old)})
    provider.verify(delivery, EndpointSecrets(secrets=(new, old)))


def test_wrong_credentials_are_refused_with_401() -> None:
    delivery = deliver(fixture("delivery.json"), {"Authorization": basic(credentials())})
    with pytest.raises(PostmarkCredentialsInvalid) as caught:
        provider.verify(delivery, EndpointSecrets(secrets=(credentials(),)))
    assert caught.value.status_code == 401


def test_missing_credentials_are_refused_with_401() -> None:
    with pytest.raises(PostmarkCredentialsMissing) as caught:
        provider.verify(deliver(fixture("delivery.json"), {}), EndpointSecrets(secrets=("a:b",)))
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer abc", "Basic", "Basic not-base64!", "Digest username=a", "basic  "]
)
def test_garbage_authorization_is_refused(header: str) -> None:
    with pytest.raises(PostmarkCredentialsInvalid):
        provider.verify(
            deliver(fixture("delivery.json"), {"Authorization": header}),
            EndpointSecrets(secrets=("a:b",)),
        )


def test_a_secret_must_be_a_username_password_pair() -> None:
    with pytest.raises(EndpointSettingInvalid) as caught:
        provider.check_settings(EndpointSecrets(secrets=("no-colon",)))
    assert caught.value.field == "secret"
    provider.check_settings(EndpointSecrets(secrets=(provider.generate_secret(),)))


@pytest.mark.django_db
def test_an_endpoint_with_a_malformed_secret_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        webhook_endpoint_create(provider="postmark", slug="pm-bad", secret=secrets.token_hex(8))
    assert "secret" in caught.value.message_dict


@pytest.mark.django_db
def test_view_stores_a_delivery_once_and_refuses_wrong_credentials(client) -> None:
    pair = credentials()
    webhook_endpoint_create(provider="postmark", slug="pm", secret=pair)
    body = fixture("bounce.json")
    path = receive_path("pm")

    first = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=basic(pair))
    again = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=basic(pair))
    wrong = client.post(
        path, body, content_type="application/json", HTTP_AUTHORIZATION=basic(credentials())
    )
    missing = client.post(path, body, content_type="application/json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["duplicates"] == 1
    assert (wrong.status_code, missing.status_code) == (401, 401)
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.event_id) == ("Bounce", "Bounce:4323372036854775807")
    assert "authorization" not in {name.lower() for name in event.headers}


@pytest.mark.parametrize("record_type", sample_event_types("postmark"))
def test_every_sample_verifies_and_parses_as_its_type(record_type: str) -> None:
    pair = credentials()
    body = provider.sample_body(record_type, event_id="evt_sample_1")
    signed = provider.sign(body, EndpointSecrets(secrets=(pair,)), url="", timestamp=0)
    delivery = deliver(signed.body, signed.headers)
    provider.verify(delivery, EndpointSecrets(secrets=(pair,)))
    [event] = provider.parse(delivery)
    assert event.event_type == record_type
    assert event.occurred_at is not None
    assert json.loads(body)["MessageID"] in event.event_id or event.event_id.count(":") == 1


@pytest.mark.django_db
@responses.activate
def test_send_test_webhook_sample_is_accepted(client) -> None:
    created = webhook_endpoint_create(provider="postmark", slug="pm-test")
    assert created.generated_secret
    assert ":" in created.generated_secret

    def forward(request):  # the test server receives what send_test posts
        response = client.generic(
            "POST",
            receive_path("pm-test"),
            request.body,
            content_type=request.headers["Content-Type"],
            HTTP_AUTHORIZATION=request.headers["Authorization"],
        )
        return response.status_code, {}, response.content

    responses.add_callback(
        responses.POST, "http://127.0.0.1:8000/webhooks/pm-test/", callback=forward
    )
    endpoint = WebhookEndpoint.objects.get(slug="pm-test")
    result = webhook_endpoint_send_test(endpoint=endpoint, event_type="Bounce")

    assert result.status_code == 200
    assert WebhookEvent.objects.get().event_type == "Bounce"
