"""Eager mode (no broker) never leaves events behind (issue 12).

A 14,000-event SendGrid batch processed inside its request outlived gunicorn's timeout: 500
to the sender, thousands of events `pending`, nothing to dispatch them again. Now the request
processes at most `WEBHOOKS_EAGER_BATCH_LIMIT` events and the in-process dispatcher thread
does the rest after the response, and re-dispatches what is due, as beat does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tests.webhooks.factories import make_endpoint, make_event, signed_stripe_headers, stripe_body
from webhooks import conf
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets
from webhooks.publisher import eager_dispatcher
from webhooks.services import processing

# The thread has its own database connection: the rows must be committed for it to see them.
pytestmark = pytest.mark.django_db(transaction=True)

Status = WebhookEvent.Status
BATCH = 2000
LIMIT = 50


@pytest.fixture(autouse=True)
def _dispatcher(settings: Any) -> Iterator[None]:
    settings.WEBHOOKS_EAGER_DISPATCHER = True
    settings.WEBHOOKS_EAGER_BATCH_LIMIT = LIMIT
    eager_dispatcher.stop()
    yield
    eager_dispatcher.stop()


@pytest.fixture
def processed_by(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread that processed each event."""
    threads: list[str] = []
    real: Callable[..., processing.ProcessOutcome] = processing.webhook_event_process

    def spy(**kwargs: Any) -> processing.ProcessOutcome:
        threads.append(threading.current_thread().name)
        return real(**kwargs)

    monkeypatch.setattr(processing, "webhook_event_process", spy)
    return threads


def _sendgrid_endpoint() -> tuple[WebhookEndpoint, EndpointSecrets]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    endpoint = WebhookEndpoint.objects.create(
        provider="sendgrid", slug="sg-large", public_key=public, options={"test_private_key": pem}
    )
    return endpoint, EndpointSecrets(public_key=public, options={"test_private_key": pem})


def _wait_until(predicate: Callable[[], bool], *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_large_batch_is_acknowledged_after_bounded_work_and_processed_afterwards(
    client: Any, processed_by: list[str]
) -> None:
    endpoint, secrets = _sendgrid_endpoint()
    now = int(time.time())
    batch = json.dumps(
        [
            {
                "sg_event_id": f"sg-large-{n}",
                "sg_message_id": f"unknown-{n}.filter",
                "event": "delivered",
                "timestamp": now,
            }
            for n in range(BATCH)
        ]
    ).encode()
    signed = get_provider("sendgrid").sign(batch, secrets, url="", timestamp=now)

    started = time.monotonic()
    response = client.post(
        "/webhooks/sg-large/",
        data=signed.body,
        content_type=signed.content_type,
        headers=signed.headers,
    )
    elapsed = time.monotonic() - started
    inline = processed_by.count(threading.current_thread().name)

    assert response.status_code == 200
    assert response.json()["received"] == BATCH
    assert inline <= LIMIT
    assert elapsed < conf.eager_time_budget_seconds() + 10  # storing 2,000 rows + bounded work

    assert eager_dispatcher.wait_idle(timeout=120)
    assert _wait_until(
        lambda: (
            not WebhookEvent.objects.filter(endpoint=endpoint)
            .exclude(status=Status.PROCESSED)
            .exists()
        ),
        timeout=30,
    )
    assert WebhookEvent.objects.filter(endpoint=endpoint, status=Status.PROCESSED).count() == BATCH
    assert processed_by.count("webhook-eager-dispatcher") == BATCH - inline


def test_the_time_budget_also_bounds_the_request(settings: Any, processed_by: list[str]) -> None:
    settings.WEBHOOKS_EAGER_TIME_BUDGET_SECONDS = 0
    endpoint = make_endpoint()
    events = [make_event(endpoint=endpoint) for _ in range(5)]

    assert eager_dispatcher.process_bounded([event.pk for event in events]) == 0
    assert eager_dispatcher.wait_idle(timeout=30)
    assert processed_by == ["webhook-eager-dispatcher"] * 5


def test_an_event_left_pending_is_dispatched_by_the_in_process_dispatcher() -> None:
    endpoint = make_endpoint()
    long_ago = timezone.now() - timedelta(seconds=conf.pending_grace_seconds() + 60)
    # Stored by a process that died before processing it (or one without a dispatcher).
    event = make_event(endpoint=endpoint, received_at=long_ago, next_attempt_at=long_ago)

    eager_dispatcher.request_pass()

    assert _wait_until(
        lambda: WebhookEvent.objects.get(pk=event.pk).status == Status.IGNORED, timeout=30
    )


def test_a_processing_error_never_turns_a_stored_delivery_into_a_5xx(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> processing.ProcessOutcome:
        raise RuntimeError("database went away")

    monkeypatch.setattr(processing, "webhook_event_process", broken)
    endpoint = make_endpoint()
    body = stripe_body()

    response = client.post(
        f"/webhooks/{endpoint.slug}/",
        body,
        content_type="application/json",
        **signed_stripe_headers(body, endpoint.secrets.get().value),
    )

    assert response.status_code == 200
    assert WebhookEvent.objects.get(endpoint=endpoint).status == Status.PENDING
