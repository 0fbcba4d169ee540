"""Checks every provider test module repeats, written once: documented fixtures, the receive
view (a repeated delivery is stored once), `send_test_webhook` and the admin filters.

Signatures in the provider test modules come from the provider's own library or from its
documented formula written out in the test (never from the provider module under test); only
the `send_test_webhook` checks use the module's `sign()`, because that is what they test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import responses
from django.test import Client
from django.urls import reverse

from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers.base import Headers, IncomingDelivery
from webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEST_BASE_URL = "http://127.0.0.1:8000"
# Headers the test client sets itself.
_CLIENT_HEADERS = {
    "content-type",
    "content-length",
    "host",
    "accept",
    "accept-encoding",
    "connection",
}


def fixture_bytes(provider_id: str, name: str) -> bytes:
    """A documented payload exactly as stored in tests/webhooks/fixtures/<provider>/."""
    return (FIXTURES / provider_id / name).read_bytes()


def fixture_json(provider_id: str, name: str) -> Any:
    return json.loads(fixture_bytes(provider_id, name))


def deliver(
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    url: str = "",
    content_type: str = "application/json",
) -> IncomingDelivery:
    return IncomingDelivery(
        body=body,
        headers=Headers({"Content-Type": content_type, **headers}),
        url=url,
        content_type=content_type,
        received_at=now,
    )


def endpoint_make(provider_id: str, secret: str, *, slug: str | None = None) -> WebhookEndpoint:
    return webhook_endpoint_create(
        provider=provider_id, slug=slug or f"{provider_id}-test", secret=secret
    ).endpoint


def post(
    client: Client,
    endpoint: WebhookEndpoint,
    body: bytes,
    headers: Mapping[str, str],
    *,
    content_type: str = "application/json",
) -> Any:
    extra = {name: value for name, value in headers.items() if name.lower() not in _CLIENT_HEADERS}
    return client.generic("POST", endpoint.path, body, content_type=content_type, headers=extra)


def assert_stored_once(
    client: Client, endpoint: WebhookEndpoint, body: bytes, headers: Mapping[str, str]
) -> WebhookEvent:
    """The same delivery twice (a provider retry, or a replay of captured bytes): both
    acknowledged, one event stored."""
    first = post(client, endpoint, body, headers)
    second = post(client, endpoint, body, headers)
    assert first.status_code == 200, first.content
    assert second.status_code == 200, second.content
    events = WebhookEvent.objects.filter(endpoint=endpoint)
    assert events.count() == 1
    return events.get()


@responses.activate
def assert_send_test_accepted(
    client: Client, endpoint: WebhookEndpoint, event_type: str | None
) -> WebhookEvent:
    """`send_test_webhook`'s sample, signed by the provider, is accepted by the receive view
    and stored with its type."""

    def forward(request: Any) -> tuple[int, dict[str, str], bytes]:
        response = post(
            client,
            endpoint,
            request.body,
            dict(request.headers),
            content_type=request.headers.get("Content-Type", "application/json"),
        )
        return response.status_code, {}, response.content

    responses.add_callback(responses.POST, f"{TEST_BASE_URL}{endpoint.path}", forward)
    result = webhook_endpoint_send_test(
        endpoint=endpoint, event_type=event_type, base_url=TEST_BASE_URL
    )
    assert result.status_code == 200, result.body
    event = WebhookEvent.objects.filter(endpoint=endpoint).latest("id")
    if event_type is not None:
        assert event.event_type == event_type
    return event


def assert_admin_lists(admin_client: Client, event: WebhookEvent) -> None:
    """The endpoint list offers the provider as a filter, and the event list filtered by it
    shows the event."""
    provider_id = event.endpoint.provider
    endpoints = admin_client.get(reverse("admin:liaison_webhooks_webhookendpoint_changelist"))
    assert f"provider__exact={provider_id}" in endpoints.content.decode()
    events = admin_client.get(
        reverse("admin:liaison_webhooks_webhookevent_changelist"), {"provider": provider_id}
    )
    assert events.status_code == 200
    assert event.event_id in events.content.decode()
