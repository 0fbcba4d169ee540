"""Email after a state change, once in effect: through the outbox, a send left without an
outcome waits for SendGrid's `processed` event before it is sent again, and staff resend
refuses what SendGrid already accepted unless forced."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from django.db import OperationalError, transaction
from django.test import override_settings
from django.utils import timezone

from integrations.core.exceptions import Timeout
from integrations.email.exceptions import EmailAlreadyAccepted
from integrations.email.models import EmailMessage
from integrations.email.services import (
    email_event_apply,
    email_message_enqueue,
    email_message_resend,
    email_outbox_key,
)
from integrations.outbox.models import OutboxItem
from integrations.outbox.relay import outbox_relay_sweep
from integrations.outbox.services import outbox_item_perform

pytestmark = pytest.mark.django_db

SEND_URL = "https://api.sendgrid.com/v3/mail/send"
FIXTURES = Path(__file__).parents[1] / "outbox" / "fixtures" / "sendgrid"
Status = EmailMessage.Status


@pytest.fixture(autouse=True)
def sendgrid_key():
    with override_settings(
        SENDGRID_API_KEY="SG.fake-test-key",
        DEFAULT_FROM_EMAIL="noreply@example.com",
        SENDGRID_PROCESSED_WAIT_SECONDS=300,
    ):
        yield


def processed_event(message: EmailMessage) -> dict[str, Any]:
    event = json.loads((FIXTURES / "processed.json").read_text())
    return {**event, "liaison_message_id": str(message.pk)}


def enqueue(key: str = "payment:pi_1:succeeded") -> EmailMessage:
    message, _ = email_message_enqueue(purpose_key=key, to=["a@example.com"], subject="s", text="t")
    return message


def outbox_row(message: EmailMessage) -> OutboxItem:
    return OutboxItem.objects.get(purpose_key=email_outbox_key(message_id=message.pk))


def interrupted_send(message: EmailMessage, *, ago: timedelta) -> None:
    """What a worker killed after SendGrid's 202 and before recording it leaves behind."""
    started = timezone.now() - ago
    EmailMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, send_started_at=started
    )
    OutboxItem.objects.filter(pk=outbox_row(message).pk).update(
        status=OutboxItem.Status.SENDING, attempts=1, locked_until=started + timedelta(seconds=1)
    )


def test_the_message_and_its_outbox_row_commit_or_roll_back_together():
    def change_then_fail() -> None:
        with transaction.atomic():
            enqueue()
            raise RuntimeError("the payment update failed")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert not EmailMessage.objects.exists()
    assert not OutboxItem.objects.exists()


@responses.activate
def test_the_relay_sends_once_and_records_the_custom_argument(django_capture_on_commit_callbacks):
    responses.post(SEND_URL, status=202, headers={"X-Message-Id": "abc"})
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    message.refresh_from_db()
    assert (message.status, message.sg_message_id) == (Status.SENT, "abc")
    assert outbox_row(message).status == OutboxItem.Status.DONE
    body = json.loads(responses.calls[0].request.body)
    assert body["custom_args"]["liaison_message_id"] == str(message.pk)
    assert outbox_relay_sweep(time_budget=30).due == 0
    assert len(responses.calls) == 1


@responses.activate
def test_a_database_error_after_sendgrid_accepted_leaves_it_sending_not_queued():
    responses.post(SEND_URL, status=202, headers={"X-Message-Id": "abc"})
    message = enqueue()
    target = "integrations.email.services.send._record_accepted"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(target, _raise_operational_error)
        outbox_item_perform(item_pk=outbox_row(message).pk)
    message.refresh_from_db()
    assert message.status == Status.SENDING
    assert outbox_row(message).status == OutboxItem.Status.PENDING  # retried like a transport error


def _raise_operational_error(*args: object, **kwargs: object) -> None:
    raise OperationalError("server closed the connection unexpectedly")


@responses.activate
def test_an_interrupted_send_waits_for_processed_and_is_never_sent_again():
    responses.post(SEND_URL, status=202, headers={"X-Message-Id": "abc"})
    message = enqueue()
    interrupted_send(message, ago=timedelta(seconds=60))
    assert outbox_relay_sweep(time_budget=30).waiting == 1
    assert len(responses.calls) == 0  # within the bound: no blind resend
    row = outbox_row(message)
    assert (row.status, row.attempts) == (OutboxItem.Status.PENDING, 1)

    assert email_event_apply(processed_event(message))  # SendGrid had it after all
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.sent_at is not None
    assert outbox_row(message).status == OutboxItem.Status.DONE
    OutboxItem.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    outbox_relay_sweep(time_budget=30)
    assert len(responses.calls) == 0


@responses.activate
def test_an_interrupted_send_with_no_processed_event_is_sent_again_after_the_bound():
    responses.post(SEND_URL, status=202, headers={"X-Message-Id": "second"})
    message = enqueue()
    interrupted_send(message, ago=timedelta(seconds=301))
    outbox_relay_sweep(time_budget=30)
    message.refresh_from_db()
    assert (message.status, message.sg_message_id) == (Status.SENT, "second")
    assert len(responses.calls) == 1
    assert outbox_row(message).status == OutboxItem.Status.DONE


@responses.activate
def test_a_read_timeout_is_treated_as_maybe_accepted():
    message = enqueue()
    error = Timeout(service="sendgrid")
    error.__cause__ = requests.ReadTimeout()
    responses.post(SEND_URL, body=error)
    outbox_item_perform(item_pk=outbox_row(message).pk)
    message.refresh_from_db()
    assert message.status == Status.SENDING
    OutboxItem.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox_relay_sweep(time_budget=30).waiting == 1  # not sent again yet


@responses.activate
def test_a_refused_connection_is_retried_without_waiting():
    responses.post(SEND_URL, body=requests.ConnectionError("refused"))
    message = enqueue()
    outbox_item_perform(item_pk=outbox_row(message).pk)
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    responses.replace(responses.POST, SEND_URL, status=202, headers={"X-Message-Id": "abc"})
    OutboxItem.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox_relay_sweep(time_budget=30).done == 1
    message.refresh_from_db()
    assert message.status == Status.SENT


@responses.activate
def test_resend_refuses_an_accepted_message_unless_forced():
    responses.post(SEND_URL, status=202, headers={"X-Message-Id": "abc"})
    message = enqueue()
    outbox_item_perform(item_pk=outbox_row(message).pk)
    message.refresh_from_db()
    with pytest.raises(EmailAlreadyAccepted):
        email_message_resend(message=message)
    assert EmailMessage.objects.count() == 1
    copy = email_message_resend(message=message, force=True)
    assert copy.pk != message.pk
    assert copy.timeline[0]["forced"] is True
    assert len(responses.calls) == 2


@responses.activate
def test_resend_of_a_failed_message_needs_no_force():
    responses.post(SEND_URL, status=202, headers={"X-Message-Id": "abc"})
    message = enqueue()
    EmailMessage.objects.filter(pk=message.pk).update(status=Status.FAILED)
    message.refresh_from_db()
    assert email_message_resend(message=message).status == Status.SENT
