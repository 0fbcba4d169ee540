"""The hot path's background publisher: batched, off the request thread, never loses events."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator

import pytest
from celery import current_app
from django.db import connection
from django.test import override_settings

from tests.conftest import _database_url_for
from tests.webhooks.factories import make_endpoint, signed_stripe_headers, stripe_body
from webhooks import publisher as publisher_module
from webhooks.models import WebhookEvent
from webhooks.publisher import BackgroundEventPublisher
from webhooks.services import webhook_events_dispatch_due

Status = WebhookEvent.Status


@pytest.fixture
def broker_mode() -> Iterator[None]:
    """Tasks are published instead of run in-process (as with CELERY_BROKER_URL set)."""
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        yield
    finally:
        current_app.conf.task_always_eager = previous


def test_submitted_ids_are_published_from_a_background_thread_in_batches():
    published: list[tuple[list[int], str]] = []
    done = threading.Event()

    def publish(batch: list[int]) -> None:
        published.append((batch, threading.current_thread().name))
        if sum(len(b) for b, _ in published) == 60:
            done.set()

    publisher = BackgroundEventPublisher(publish, max_batch=25)
    publisher.submit(range(60))

    assert done.wait(timeout=5)
    batches = [batch for batch, _ in published]
    assert sorted(pk for batch in batches for pk in batch) == list(range(60))
    assert all(len(batch) <= 25 for batch in batches)
    assert {name for _, name in published} == {"webhook-event-publisher"}


def test_a_failed_publish_is_logged_and_does_not_raise(caplog):
    def publish(batch: list[int]) -> None:
        raise ConnectionError("broker down")

    publisher = BackgroundEventPublisher(publish)
    publisher._pending.extend([1, 2, 3])

    with caplog.at_level(logging.WARNING, logger="webhooks.publisher"):
        assert publisher.flush() == 0

    assert "webhook_event_publish_failed" in caplog.text


def test_a_forked_child_starts_with_an_empty_queue_and_its_own_thread():
    publisher = BackgroundEventPublisher(lambda batch: None)
    publisher._pending.extend([7, 8])
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        ok = publisher._pending == [] and publisher._thread is None
        os.write(write_end, b"1" if ok else b"0")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_view_hands_new_events_to_the_publisher_after_commit(
    client, monkeypatch, broker_mode
):
    submitted: list[list[int]] = []
    monkeypatch.setattr(
        publisher_module.event_publisher, "submit", lambda pks: submitted.append(list(pks))
    )
    endpoint = make_endpoint()
    secret = endpoint.secrets.get().value
    body = stripe_body()

    first = client.post(
        f"/webhooks/{endpoint.slug}/",
        body,
        content_type="application/json",
        **signed_stripe_headers(body, secret),
    )
    duplicate = client.post(
        f"/webhooks/{endpoint.slug}/",
        body,
        content_type="application/json",
        **signed_stripe_headers(body, secret),
    )

    assert first.status_code == duplicate.status_code == 200
    event = WebhookEvent.objects.get()
    assert submitted == [[event.pk]]  # the duplicate is not enqueued again
    assert event.status == Status.PENDING


@pytest.mark.django_db(transaction=True)
@override_settings(WEBHOOKS_PENDING_GRACE_SECONDS=0)
def test_an_event_whose_publish_failed_is_dispatched_later(client, monkeypatch, broker_mode):
    def broken(batch: list[int]) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(publisher_module.event_publisher, "_publish", broken)
    endpoint = make_endpoint()
    secret = endpoint.secrets.get().value
    body = stripe_body()

    response = client.post(
        f"/webhooks/{endpoint.slug}/",
        body,
        content_type="application/json",
        **signed_stripe_headers(body, secret),
    )
    publisher_module.event_publisher.flush()

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == Status.PENDING
    current_app.conf.task_always_eager = True
    report = webhook_events_dispatch_due()
    assert report.stale_pending == 1
    assert WebhookEvent.objects.get().status == Status.IGNORED  # no handler for this type


@pytest.mark.celery_worker
def test_a_delivery_is_processed_by_a_real_worker_through_the_publisher(
    celery_worker_process, client
):
    endpoint = make_endpoint()
    secret = endpoint.secrets.get().value
    bodies = [stripe_body() for _ in range(5)]

    for body in bodies:
        response = client.post(
            f"/webhooks/{endpoint.slug}/",
            body,
            content_type="application/json",
            **signed_stripe_headers(body, secret),
        )
        assert response.status_code == 200

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = set(WebhookEvent.objects.values_list("status", flat=True))
        if statuses == {Status.IGNORED}:
            break
        time.sleep(0.2)
    assert list(WebhookEvent.objects.values_list("status", "attempts")) == [("ignored", 1)] * 5
    assert _database_url_for(connection.settings_dict["NAME"])  # the worker's database
