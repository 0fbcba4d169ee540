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
from tests.webhooks.factories import make_endpoint, make_event, signed_stripe_headers, stripe_body
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


# --- webhooks.queue: published_at and the dispatcher's in-flight rule ------------------------


def _published_batches(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    from webhooks.tasks import webhook_events_process_task

    sent: list[list[int]] = []
    monkeypatch.setattr(webhook_events_process_task, "delay", lambda pks: sent.append(list(pks)))
    return sent


@pytest.mark.django_db
def test_publishing_records_when_each_event_was_published(monkeypatch):
    from webhooks.queue import webhook_events_publish

    sent = _published_batches(monkeypatch)
    endpoint = make_endpoint()
    events = [make_event(endpoint=endpoint) for _ in range(3)]
    webhook_events_publish([e.pk for e in events[:2]])
    assert sent == [[events[0].pk, events[1].pk]]
    published = dict(WebhookEvent.objects.values_list("pk", "published_at"))
    assert published[events[0].pk] is not None
    assert published[events[1].pk] is not None
    assert published[events[2].pk] is None


@pytest.mark.django_db
def test_the_dispatcher_does_not_republish_events_whose_message_is_in_flight(
    monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    sent = _published_batches(monkeypatch)
    endpoint = make_endpoint()
    old = timezone.now() - timedelta(hours=1)
    grace = 300
    in_flight = make_event(
        endpoint=endpoint, received_at=old, next_attempt_at=old, published_at=timezone.now()
    )
    lost = make_event(
        endpoint=endpoint,
        received_at=old,
        next_attempt_at=old,
        published_at=timezone.now() - timedelta(seconds=grace + 1),
    )
    never = make_event(endpoint=endpoint, received_at=old, next_attempt_at=old)
    # Published, then its worker died: the retry became due after that publish.
    failed_since = make_event(
        endpoint=endpoint,
        status=Status.FAILED,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
        published_at=timezone.now() - timedelta(seconds=5),
    )
    retry_in_flight = make_event(
        endpoint=endpoint, status=Status.FAILED, next_attempt_at=old, published_at=timezone.now()
    )
    with override_settings(WEBHOOKS_PENDING_GRACE_SECONDS=grace):
        with django_capture_on_commit_callbacks(execute=True):
            first = webhook_events_dispatch_due()
        with django_capture_on_commit_callbacks(execute=True):
            second = webhook_events_dispatch_due()
    assert {pk for batch in sent for pk in batch} == {lost.pk, never.pk, failed_since.pk}
    assert in_flight.pk not in sent[0]
    assert retry_in_flight.pk not in sent[0]
    assert (first.stale_pending, first.due_failed) == (2, 1)
    assert second.enqueued == 0  # just published: not again within the grace period
    assert len(sent) == 1


@pytest.mark.django_db
def test_the_hot_path_publisher_does_not_update_the_rows_it_just_inserted(monkeypatch):
    """Ingestion writes each event once: the first publish is not recorded (a fresh event is
    not due for re-dispatch before the grace period anyway)."""
    from webhooks.publisher import _publish_batch

    sent = _published_batches(monkeypatch)
    events = [make_event(endpoint=make_endpoint()) for _ in range(2)]
    _publish_batch([e.pk for e in events])

    assert sent == [[e.pk for e in events]]
    assert set(WebhookEvent.objects.values_list("published_at", flat=True)) == {None}
