"""Against the real services: concurrent claims (PostgreSQL) and a worker killed mid-event."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings

from tests.conftest import _database_url_for, start_celery_worker, stop_process
from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import WebhookEvent
from webhooks.services import (
    webhook_event_process,
    webhook_events_dispatch_due,
    webhook_events_enqueue,
)

Status = WebhookEvent.Status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_event_run_it_once(register_handler):
    events = [
        make_event(endpoint=make_endpoint(), event_type="liaison.test.race") for _ in range(5)
    ]
    calls: list[int] = []
    lock = threading.Lock()

    def slow_handler(event):
        with lock:
            calls.append(event.pk)
        time.sleep(0.2)  # keep the claim held while the other thread tries

    register_handler("stripe", "liaison.test.race", slow_handler)
    outcomes: list[str] = []

    def worker(barrier: threading.Barrier, pk: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(webhook_event_process(event_pk=pk).status)
        finally:
            connections.close_all()

    for event in events:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=worker, args=(barrier, event.pk)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)

    assert sorted(calls) == sorted(e.pk for e in events)  # each event's handler ran once
    assert outcomes.count(Status.PROCESSED) == len(events)
    assert outcomes.count("skipped") == len(events)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {Status.PROCESSED}


def _wait_for(predicate, *, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@override_settings(WEBHOOKS_RETRY_SCHEDULE=[0, 0, 0])
def test_event_of_a_worker_killed_mid_event_is_processed_later(tmp_path):
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "LIAISON_TEST_CELERY_EAGER": "0",
            "DATABASE_URL": _database_url_for(connection.settings_dict["NAME"]),
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "CELERY_VISIBILITY_TIMEOUT": "5",
            # The killed worker's claim expires quickly, so the event counts as stuck soon.
            "WEBHOOKS_PROCESSING_LEASE_SECONDS": "2",
        }
    )
    include = ("--include=tests.webhooks.worker_handlers",)
    marker = tmp_path / "blocked"
    event = make_event(
        endpoint=make_endpoint(),
        event_type="liaison.test.block",
        body=json.dumps({"id": "evt_block", "marker": str(marker)}).encode(),
    )
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    first = start_celery_worker(env, extra_args=include)
    second = None
    try:
        webhook_events_enqueue(event_pks=[event.pk])
        assert _wait_for(marker.exists, timeout=20), "the first worker never started the event"
        child_pid = int(marker.read_text())
        assert WebhookEvent.objects.get(pk=event.pk).status == Status.PROCESSING

        os.kill(child_pid, signal.SIGKILL)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_celery_worker(env, extra_args=include)

        def processed() -> bool:
            webhook_events_dispatch_due()  # what beat runs periodically
            return WebhookEvent.objects.get(pk=event.pk).status == Status.PROCESSED

        assert _wait_for(processed, timeout=30, step=0.5), "the event was never processed"
    finally:
        current_app.conf.task_always_eager = previous
        stop_process(first)
        if second is not None:
            stop_process(second)

    event.refresh_from_db()
    assert event.attempts == 2
    assert event.last_error == ""
    assert marker.with_suffix(".done").exists()
