"""The outbox: recorded with the state change, claimed with a lease, retried, dead, retried
by staff, shown in health."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, transaction
from django.test import override_settings
from django.utils import timezone

from integrations.core.exceptions import ClientError, ServerError
from integrations.ops.registry import health_section
from integrations.outbox import conf
from integrations.outbox.models import OutboxItem
from integrations.outbox.registry import ActionWait, outbox_action_register
from integrations.outbox.relay import outbox_relay_sweep
from integrations.outbox.services import (
    outbox_enqueue,
    outbox_item_perform,
    outbox_item_settle,
    outbox_items_retry,
)

pytestmark = pytest.mark.django_db

Status = OutboxItem.Status
ACTION = "test.record"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.outcome: object = None

    def __call__(self, item: OutboxItem) -> ActionWait | None:
        self.calls.append(item.pk)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome  # type: ignore[return-value]


@pytest.fixture
def action() -> Recorder:
    recorder = Recorder()
    outbox_action_register(ACTION, recorder)
    return recorder


def enqueue(key: str = "k:1") -> OutboxItem:
    return outbox_enqueue(purpose_key=key, action=ACTION, payload={"id": 1})


def test_a_row_is_recorded_only_if_its_transaction_commits(action):
    def change_then_fail() -> None:
        with transaction.atomic():
            enqueue()
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert not OutboxItem.objects.exists()


def test_the_same_purpose_key_is_one_row_performed_once(action, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue()
        again = enqueue()
    assert first.pk == again.pk
    assert action.calls == [first.pk]  # the wake-up ran it (eager, relay thread off)
    first.refresh_from_db()
    assert (first.status, first.attempts) == (Status.DONE, 1)
    assert outbox_item_perform(item_pk=first.pk).status == "skipped"
    assert action.calls == [first.pk]


def test_an_unknown_action_fails_in_the_callers_transaction():
    from integrations.outbox.exceptions import UnknownOutboxAction

    with pytest.raises(UnknownOutboxAction):
        outbox_enqueue(purpose_key="k", action="nobody.registered", payload={})


@pytest.mark.parametrize(
    "error",
    [ServerError(service="sendgrid", status=503), OperationalError("server closed the connection")],
    ids=["transport", "database"],
)
def test_transient_and_database_errors_are_retried_on_the_schedule(action, error):
    item = enqueue()
    action.outcome = error
    assert outbox_item_perform(item_pk=item.pk).status == Status.PENDING
    item.refresh_from_db()
    assert item.status == Status.PENDING
    assert item.attempts == 1
    assert item.next_attempt_at > timezone.now() + timedelta(seconds=conf.retry_schedule()[0] - 2)
    assert type(error).__name__ in item.last_error
    assert outbox_item_perform(item_pk=item.pk).status == "skipped"  # not due yet


def test_a_permanent_error_makes_the_row_dead_at_once(action):
    item = enqueue()
    action.outcome = ClientError(service="sendgrid", status=400)
    assert outbox_item_perform(item_pk=item.pk).status == Status.DEAD
    assert OutboxItem.objects.get().status == Status.DEAD


def test_past_the_last_attempt_the_row_is_dead(action):
    item = enqueue()
    action.outcome = ServerError(service="sendgrid", status=500)
    with override_settings(OUTBOX_RETRY_SCHEDULE=[0, 0]):
        statuses = [outbox_item_perform(item_pk=item.pk).status for _ in range(4)]
    assert statuses == [Status.PENDING, Status.PENDING, Status.DEAD, "skipped"]
    assert len(action.calls) == 3


def test_failure_text_is_redacted(action):
    item = enqueue()
    action.outcome = OperationalError("duplicate value jenny.rosen@example.com")
    outbox_item_perform(item_pk=item.pk)
    item.refresh_from_db()
    assert "jenny.rosen@example.com" not in item.last_error


def test_a_running_claim_is_not_taken_and_an_expired_one_is(action):
    item = enqueue()
    now = timezone.now()
    OutboxItem.objects.filter(pk=item.pk).update(
        status=Status.SENDING, claimed_at=now, locked_until=now + timedelta(seconds=60)
    )
    assert outbox_item_perform(item_pk=item.pk).status == "skipped"
    later = now + timedelta(seconds=61)
    assert outbox_item_perform(item_pk=item.pk, clock=lambda: later).status == Status.DONE
    assert action.calls == [item.pk]


def test_an_outcome_is_recorded_only_while_the_claim_is_ours(action):
    item = enqueue()

    def taken_over(row: OutboxItem) -> None:
        # Our lease expired meanwhile and another worker claimed the row.
        OutboxItem.objects.filter(pk=row.pk).update(claimed_at=timezone.now() + timedelta(days=1))

    outbox_action_register(ACTION, taken_over)
    outbox_item_perform(item_pk=item.pk)
    assert OutboxItem.objects.get().status == Status.SENDING  # the other worker's to settle


def test_a_wait_gives_the_attempt_back(action):
    item = enqueue()
    action.outcome = ActionWait(seconds=30, reason="waiting for confirmation")
    assert outbox_item_perform(item_pk=item.pk).status == "waiting"
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == (
        Status.PENDING,
        0,
        "waiting for confirmation",
    )


def test_settle_marks_an_unfinished_row_done(action):
    item = enqueue()
    assert outbox_item_settle(purpose_key=item.purpose_key)
    assert OutboxItem.objects.get().status == Status.DONE
    assert outbox_item_perform(item_pk=item.pk).status == "skipped"
    assert action.calls == []


def test_the_sweep_performs_due_rows_and_expired_claims_only(action):
    due, expired, running, later = (enqueue(key) for key in ("due", "expired", "running", "later"))
    now = timezone.now()
    OutboxItem.objects.filter(pk=expired.pk).update(
        status=Status.SENDING, locked_until=now - timedelta(seconds=1)
    )
    OutboxItem.objects.filter(pk=running.pk).update(
        status=Status.SENDING, locked_until=now + timedelta(seconds=60)
    )
    OutboxItem.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(hours=1))
    report = outbox_relay_sweep(time_budget=30)
    assert (report.due, report.done) == (2, 2)
    assert sorted(action.calls) == sorted([due.pk, expired.pk])


def test_retry_gives_dead_rows_fresh_attempts(action, django_capture_on_commit_callbacks):
    dead, done = enqueue("dead"), enqueue("done")
    OutboxItem.objects.filter(pk=dead.pk).update(status=Status.DEAD, attempts=9)
    OutboxItem.objects.filter(pk=done.pk).update(status=Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        changed = outbox_items_retry(items=OutboxItem.objects.all())
    assert changed == 1
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (Status.DONE, 1)
    assert action.calls == [dead.pk]


def test_the_health_section_counts_open_rows_by_action(action):
    for key in ("a", "b", "c"):
        enqueue(key)
    OutboxItem.objects.filter(purpose_key="c").update(status=Status.DEAD)
    section = health_section("outbox")
    assert section is not None
    summary = section(timezone.now() + timedelta(seconds=5))
    assert (summary["pending"], summary["dead"]) == (2, 1)
    assert summary["by_action"][ACTION]["dead"] == 1
    assert summary["lag_seconds"] >= 4


def test_a_broker_publish_failure_leaves_the_row_for_the_sweep(action):
    from celery import current_app

    item = enqueue()
    from integrations.outbox.relay import outbox_wake

    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        with mock.patch(
            "integrations.outbox.tasks.outbox_item_perform_task.delay",
            side_effect=ConnectionError("broker down"),
        ) as publish:
            outbox_wake(item_pks=[item.pk])  # logged, never raised
    finally:
        current_app.conf.task_always_eager = previous
    assert publish.called
    assert OutboxItem.objects.get().status == Status.PENDING
    assert outbox_relay_sweep(time_budget=30).done == 1


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("OUTBOX_LEASE_SECONDS", 0, "liaison_outbox.E001"),
        ("OUTBOX_RELAY_INTERVAL_SECONDS", "soon", "liaison_outbox.E001"),
        ("OUTBOX_RETRY_SCHEDULE", [5, -1], "liaison_outbox.E002"),
        ("OUTBOX_RETRY_SCHEDULE", [], "liaison_outbox.E002"),
    ],
)
def test_a_malformed_setting_is_named_by_a_system_check(setting, value, check_id):
    from django.core import checks

    with override_settings(**{setting: value}):
        errors = [e for e in checks.run_checks() if e.id == check_id]
    assert errors, setting
    assert setting in errors[0].msg
