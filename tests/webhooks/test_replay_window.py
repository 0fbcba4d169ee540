"""The duplicate-body window: captured bytes replayed under a fresh id are stored once.

GitHub, Shopify and Twilio sign the body only (no timestamp, no delivery id), so an attacker
holding one captured delivery can post it again with a new `X-GitHub-Delivery` and it verifies.
With `duplicate_body_window_hours` set, the receive view still answers 2xx (as for any
duplicate) and nothing new is stored or processed.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tests.webhooks.factories import fake_secret, make_endpoint
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets
from webhooks.selectors import endpoint_local_cache_clear, webhook_endpoint_config_get
from webhooks.services import webhook_endpoint_create
from webhooks.services.ingest import body_keys

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_endpoints() -> Any:
    endpoint_local_cache_clear()
    yield
    endpoint_local_cache_clear()


def github_body(number: int = 1) -> bytes:
    return json.dumps(
        {"action": "opened", "number": number, "repository": {"full_name": "acme/shop"}}
    ).encode()


def post_github(client: Any, endpoint: Any, secret: str, body: bytes, delivery_id: str) -> Any:
    """A GitHub delivery signed with `secret`; the delivery id is not covered by the HMAC."""
    signed = get_provider("github").sign(
        body,
        EndpointSecrets(secrets=(secret,)),
        url="",
        timestamp=int(time.time()),
        event_type="pull_request",
        event_id=delivery_id,
    )
    return client.post(
        f"/webhooks/{endpoint.slug}/",
        data=signed.body,
        content_type=signed.content_type,
        headers=signed.headers,
    )


def github_endpoint(window_hours: int) -> tuple[Any, str]:
    secret = fake_secret()
    endpoint = make_endpoint(
        provider="github", secret=secret, duplicate_body_window_hours=window_hours
    )
    return endpoint, secret


def test_a_replayed_body_with_a_new_delivery_id_is_stored_once(client):
    endpoint, secret = github_endpoint(24)
    body = github_body()

    first = post_github(client, endpoint, secret, body, str(uuid.uuid4()))
    replay = post_github(client, endpoint, secret, body, str(uuid.uuid4()))

    assert first.status_code == 200
    assert first.json()["duplicates"] == 0
    assert replay.status_code == 200  # acknowledged, so the sender does not retry
    assert replay.json()["duplicates"] == 1
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 1


def test_without_a_window_the_same_replay_is_stored_again(client):
    """The risk the window exists for (and why GitHub endpoints default to 24 hours)."""
    endpoint, secret = github_endpoint(0)
    body = github_body()

    post_github(client, endpoint, secret, body, str(uuid.uuid4()))
    post_github(client, endpoint, secret, body, str(uuid.uuid4()))

    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 2
    assert not WebhookEvent.objects.filter(body_key__isnull=False).exists()


def test_different_bodies_are_both_stored_inside_the_window(client):
    endpoint, secret = github_endpoint(24)

    post_github(client, endpoint, secret, github_body(1), str(uuid.uuid4()))
    post_github(client, endpoint, secret, github_body(2), str(uuid.uuid4()))

    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 2


def test_the_same_body_after_the_window_is_stored_again(client):
    endpoint, secret = github_endpoint(24)
    body = github_body()
    post_github(client, endpoint, secret, body, str(uuid.uuid4()))
    # Age the stored event past the window (its key moves to the bucket of its new time).
    old = timezone.now() - timedelta(hours=25)
    stored_key, _ = body_keys(body, window_hours=24, received_at=old)
    WebhookEvent.objects.filter(endpoint=endpoint).update(received_at=old, body_key=stored_key)

    again = post_github(client, endpoint, secret, body, str(uuid.uuid4()))

    assert again.status_code == 200
    assert again.json()["duplicates"] == 0
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 2


def test_a_match_in_the_previous_bucket_inside_the_window_is_a_duplicate(client):
    endpoint, secret = github_endpoint(24)
    body = github_body()
    post_github(client, endpoint, secret, body, str(uuid.uuid4()))
    # One hour ago, but in the previous 24-hour bucket: still inside the window.
    earlier = timezone.now() - timedelta(hours=1)
    _, previous_key = body_keys(body, window_hours=24, received_at=timezone.now())
    WebhookEvent.objects.filter(endpoint=endpoint).update(
        received_at=earlier, body_key=previous_key
    )

    replay = post_github(client, endpoint, secret, body, str(uuid.uuid4()))

    assert replay.json()["duplicates"] == 1
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 1


def test_a_replay_of_the_same_delivery_id_is_still_a_duplicate(client):
    endpoint, secret = github_endpoint(24)
    body = github_body()
    delivery_id = str(uuid.uuid4())

    post_github(client, endpoint, secret, body, delivery_id)
    again = post_github(client, endpoint, secret, body, delivery_id)

    assert again.json()["duplicates"] == 1
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 1


def test_the_windowed_insert_is_still_one_query_when_the_endpoint_is_cached(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    endpoint, secret = github_endpoint(24)
    webhook_endpoint_config_get(slug=endpoint.slug)
    body = github_body()

    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(1):
        response = post_github(client, endpoint, secret, body, str(uuid.uuid4()))
    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(1):
        replay = post_github(client, endpoint, secret, body, str(uuid.uuid4()))

    assert response.status_code == 200
    assert replay.json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("provider", "hours"),
    [("github", 24), ("shopify", 24), ("twilio", 24), ("stripe", 0), ("standard", 0)],
)
def test_new_endpoints_get_their_providers_default_window(provider, hours):
    created = webhook_endpoint_create(provider=provider, slug=f"w-{provider}", secret=None)
    assert created.endpoint.duplicate_body_window_hours == hours


def test_the_window_can_be_switched_off_at_creation():
    created = webhook_endpoint_create(
        provider="github", slug="no-window", duplicate_body_window_hours=0
    )
    assert created.endpoint.duplicate_body_window_hours == 0


def test_a_batch_is_stored_once_per_element_inside_the_window(client):
    """Several events in one delivery (SendGrid) go through the same single windowed INSERT."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    endpoint = WebhookEndpoint.objects.create(
        provider="sendgrid",
        slug="sg-window",
        public_key=public,
        options={"test_private_key": pem},
        duplicate_body_window_hours=24,
    )
    secrets = EndpointSecrets(public_key=public, options={"test_private_key": pem})
    batch = json.dumps(
        [
            {"sg_event_id": "sg-1", "event": "delivered", "timestamp": int(time.time())},
            {"sg_event_id": "sg-2", "event": "open", "timestamp": int(time.time())},
        ]
    ).encode()

    def deliver() -> Any:
        signed = get_provider("sendgrid").sign(batch, secrets, url="", timestamp=int(time.time()))
        return client.post(
            "/webhooks/sg-window/",
            data=signed.body,
            content_type=signed.content_type,
            headers=signed.headers,
        )

    first, replay = deliver(), deliver()

    assert (first.status_code, first.json()["duplicates"]) == (200, 0)
    assert (replay.status_code, replay.json()["duplicates"]) == (200, 2)
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 2
    assert WebhookEvent.objects.filter(endpoint=endpoint, body_key__isnull=False).count() == 2


@pytest.mark.parametrize("provider_id", ["github", "shopify", "twilio"])
def test_samples_of_distinct_deliveries_never_share_a_body(provider_id):
    """`send_test_webhook` and the load tests post samples to endpoints whose duplicate-body
    window is on by default: two samples with the same body would be stored once."""
    provider = get_provider(provider_id)
    bodies = {provider.sample_body(None, event_id=f"evt_sample_{n}") for n in range(3000)}
    assert len(bodies) == 3000
