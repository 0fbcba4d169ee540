"""Processing: claim, handlers, retries with backoff, dead-letter, re-dispatch, replay, prune."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.webhooks.factories import make_endpoint, make_event
from webhooks import conf
from webhooks.models import WebhookEvent
from webhooks.services import (
    retry_delay_seconds,
    webhook_event_mark_ignored,
    webhook_event_process,
    webhook_event_replay,
    webhook_events_dispatch_due,
    webhook_events_prune,
)
from webhooks.tasks import webhook_events_process_task

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


class Clock:
    """An injected clock: tests move time instead of sleeping through backoff delays."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_handler_receives_the_event_and_it_is_marked_processed(register_handler):
    endpoint = make_endpoint()
    event = make_event(endpoint=endpoint, event_type="liaison.test.ok")
    seen = []
    register_handler(
        "stripe",
        "liaison.test.ok",
        lambda e: seen.append((e.provider, e.event_id, e.event_type, e.payload["id"])),
    )

    outcome = webhook_event_process(event_pk=event.pk)

    event.refresh_from_db()
    assert outcome.status == Status.PROCESSED
    assert seen == [("stripe", event.event_id, "liaison.test.ok", event.event_id)]
    assert event.status == Status.PROCESSED
    assert event.attempts == 1
    assert event.processed_at is not None
    assert event.locked_until is None


def test_the_task_calls_the_service():
    event = make_event(endpoint=make_endpoint())

    assert webhook_events_process_task.delay([event.pk]).get() == {Status.IGNORED: 1}


def test_unknown_type_is_ignored():
    event = make_event(endpoint=make_endpoint(), event_type="nobody.handles.this")

    assert webhook_event_process(event_pk=event.pk).status == Status.IGNORED
    event.refresh_from_db()
    assert event.status == Status.IGNORED


def test_processed_event_is_not_run_again(register_handler):
    event = make_event(endpoint=make_endpoint(), event_type="liaison.test.once")
    calls = []
    register_handler("stripe", "liaison.test.once", calls.append)

    webhook_event_process(event_pk=event.pk)
    second = webhook_event_process(event_pk=event.pk)

    assert second.status == "skipped"
    assert len(calls) == 1


def test_event_claimed_by_a_live_worker_is_not_run_by_another(register_handler):
    event = make_event(endpoint=make_endpoint(), event_type="liaison.test.busy")
    calls = []
    register_handler("stripe", "liaison.test.busy", calls.append)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, locked_until=timezone.now() + timedelta(minutes=5)
    )

    assert webhook_event_process(event_pk=event.pk).status == "skipped"
    assert calls == []


def test_handler_error_retries_on_the_backoff_schedule_then_goes_dead(register_handler):
    clock = Clock()
    event = make_event(endpoint=make_endpoint(), event_type="liaison.test.broken")

    def broken(e):
        raise ValueError("upstream said no")

    register_handler("stripe", "liaison.test.broken", broken)
    schedule = conf.retry_schedule()
    assert schedule == (60, 300, 1800, 7200, 21600, 43200, 86400, 86400)
    assert sum(schedule) / 86400 == pytest.approx(2.86, abs=0.01)  # about three days

    for attempt, delay in enumerate(schedule, start=1):
        outcome = webhook_event_process(event_pk=event.pk, clock=clock)
        event.refresh_from_db()
        assert outcome.status == Status.FAILED
        assert event.attempts == attempt
        assert event.next_attempt_at == clock.now + timedelta(seconds=delay)
        assert event.last_error == "ValueError: upstream said no"
        # Not due yet: a premature message is a no-op.
        clock.advance(delay - 1)
        assert webhook_event_process(event_pk=event.pk, clock=clock).status == "skipped"
        clock.advance(1)

    outcome = webhook_event_process(event_pk=event.pk, clock=clock)
    event.refresh_from_db()
    assert outcome.status == Status.DEAD
    assert event.status == Status.DEAD
    assert event.attempts == len(schedule) + 1
    assert event.next_attempt_at is None
    clock.advance(10 * 86400)
    assert webhook_events_dispatch_due(clock=clock).enqueued == 0


@override_settings(WEBHOOKS_LAST_ERROR_MAX_CHARS=40)
def test_last_error_is_truncated(register_handler):
    event = make_event(endpoint=make_endpoint(), event_type="liaison.test.verbose")

    def verbose(e):
        raise RuntimeError("x" * 500)

    register_handler("stripe", "liaison.test.verbose", verbose)
    webhook_event_process(event_pk=event.pk)

    event.refresh_from_db()
    assert len(event.last_error) == 40
    assert event.last_error.startswith("RuntimeError: xxx")


def test_handler_writes_roll_back_when_a_later_handler_fails(register_handler):
    endpoint = make_endpoint()
    event = make_event(endpoint=endpoint, event_type="liaison.test.partial")
    register_handler(
        "stripe",
        "liaison.test.partial",
        lambda e: type(endpoint).objects.filter(pk=endpoint.pk).update(description="touched"),
    )

    def fail(e):
        raise RuntimeError("second handler failed")

    register_handler("stripe", "liaison.test.partial", fail)

    webhook_event_process(event_pk=event.pk)

    endpoint.refresh_from_db()
    assert endpoint.description == ""
    assert WebhookEvent.objects.get(pk=event.pk).status == Status.FAILED


def test_retry_delay_schedule_is_a_setting():
    with override_settings(WEBHOOKS_RETRY_SCHEDULE=[1, 2]):
        assert [retry_delay_seconds(attempts=n) for n in (1, 2, 3)] == [1, 2, None]
        assert conf.max_attempts() == 3


def test_dispatcher_requeues_due_failed_stale_pending_and_stuck_events(
    django_capture_on_commit_callbacks,
):
    clock = Clock()
    endpoint = make_endpoint()
    due = make_event(endpoint=endpoint, status=Status.FAILED, attempts=1, next_attempt_at=clock.now)
    not_due = make_event(
        endpoint=endpoint,
        status=Status.FAILED,
        attempts=1,
        next_attempt_at=clock.now + timedelta(minutes=1),
    )
    stale = make_event(endpoint=endpoint, next_attempt_at=clock.now - timedelta(seconds=301))
    fresh = make_event(endpoint=endpoint, next_attempt_at=clock.now)
    stuck = make_event(
        endpoint=endpoint,
        status=Status.PROCESSING,
        attempts=2,
        locked_until=clock.now - timedelta(seconds=1),
    )
    stuck_last = make_event(
        endpoint=endpoint,
        status=Status.PROCESSING,
        attempts=conf.max_attempts(),
        locked_until=clock.now - timedelta(seconds=1),
    )
    running = make_event(
        endpoint=endpoint,
        status=Status.PROCESSING,
        attempts=1,
        locked_until=clock.now + timedelta(minutes=5),
    )

    with (
        mock.patch("webhooks.queue.webhook_events_enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = webhook_events_dispatch_due(clock=clock)

    enqueued = {pk for c in enqueue.call_args_list for pk in c.kwargs["event_pks"]}
    assert enqueued == {due.pk, stale.pk}
    assert (report.due_failed, report.stale_pending) == (1, 1)
    assert (report.stuck_retried, report.stuck_dead) == (1, 1)
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED
    assert stuck.last_error.startswith("WorkerLost")
    assert stuck.next_attempt_at == clock.now + timedelta(seconds=retry_delay_seconds(attempts=2))
    assert WebhookEvent.objects.get(pk=stuck_last.pk).status == Status.DEAD
    assert WebhookEvent.objects.get(pk=running.pk).status == Status.PROCESSING
    for untouched in (not_due, fresh):
        assert WebhookEvent.objects.get(pk=untouched.pk).status == untouched.status


def test_stuck_event_is_processed_after_the_dispatcher_retries_it(register_handler):
    clock = Clock()
    event = make_event(
        endpoint=make_endpoint(),
        event_type="liaison.test.recover",
        status=Status.PROCESSING,
        attempts=1,
        locked_until=clock.now - timedelta(seconds=1),
    )
    register_handler("stripe", "liaison.test.recover", lambda e: None)

    webhook_events_dispatch_due(clock=clock)
    clock.advance(retry_delay_seconds(attempts=1))
    outcome = webhook_event_process(event_pk=event.pk, clock=clock)

    assert outcome.status == Status.PROCESSED
    assert outcome.attempts == 2


def test_expired_lease_can_be_reclaimed_directly_by_a_redelivered_message(register_handler):
    event = make_event(
        endpoint=make_endpoint(),
        event_type="liaison.test.redelivered",
        status=Status.PROCESSING,
        attempts=1,
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    register_handler("stripe", "liaison.test.redelivered", lambda e: None)

    assert webhook_event_process(event_pk=event.pk).status == Status.PROCESSED


def test_replay_resets_attempts_and_processes_again(
    register_handler, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint()
    dead = make_event(
        endpoint=endpoint,
        event_type="liaison.test.replayed",
        status=Status.DEAD,
        attempts=9,
        last_error="ValueError: old",
    )
    running = make_event(
        endpoint=endpoint,
        status=Status.PROCESSING,
        locked_until=timezone.now() + timedelta(minutes=5),
    )
    calls = []
    register_handler("stripe", "liaison.test.replayed", calls.append)

    with django_capture_on_commit_callbacks(execute=True):
        count = webhook_event_replay(events=WebhookEvent.objects.all())

    assert count == 1
    dead.refresh_from_db()
    assert dead.status == Status.PROCESSED
    assert dead.attempts == 1
    assert dead.last_error == ""
    assert len(calls) == 1
    assert WebhookEvent.objects.get(pk=running.pk).status == Status.PROCESSING


def test_mark_ignored_leaves_running_events_alone():
    endpoint = make_endpoint()
    failed = make_event(endpoint=endpoint, status=Status.FAILED)
    running = make_event(endpoint=endpoint, status=Status.PROCESSING)

    assert webhook_event_mark_ignored(events=WebhookEvent.objects.all()) == 1
    assert WebhookEvent.objects.get(pk=failed.pk).status == Status.IGNORED
    assert WebhookEvent.objects.get(pk=running.pk).status == Status.PROCESSING


def test_prune_keeps_failed_and_dead_unless_asked_and_never_pending():
    endpoint = make_endpoint()
    old = timezone.now() - timedelta(days=40)
    events = {
        status: make_event(endpoint=endpoint, status=status, received_at=old)
        for status in Status.values
    }
    recent = make_event(endpoint=endpoint, status=Status.PROCESSED)

    assert webhook_events_prune(older_than=timedelta(days=30)) == 2
    remaining = set(WebhookEvent.objects.values_list("status", flat=True))
    assert remaining == {"pending", "processing", "failed", "dead", "processed"}
    assert WebhookEvent.objects.filter(pk=recent.pk).exists()

    assert webhook_events_prune(older_than=timedelta(days=30), include_failed=True) == 2
    assert not WebhookEvent.objects.filter(pk=events[Status.DEAD].pk).exists()
    assert WebhookEvent.objects.filter(pk=events[Status.PENDING].pk).exists()


def test_form_payload_is_a_dict():
    event = make_event(
        endpoint=make_endpoint(),
        body=b"CallSid=CA123&From=%2B15550001111&Body=",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert event.payload == {"CallSid": "CA123", "From": "+15550001111", "Body": ""}
