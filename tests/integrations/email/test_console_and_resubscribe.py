"""A console-only message (no SENDGRID_API_KEY) is recorded as `console` — recorded, not sent;
SendGrid's `group_resubscribe` undoes a group unsubscribe: the message goes back to the status
it had reached, and `email_status_changed` says so. Event shapes follow SendGrid's event
reference (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

from integrations.email.models import EmailMessage
from integrations.email.services import email_event_apply, email_message_send
from integrations.email.signals import email_status_changed
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import sendgrid_event
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db

X_MESSAGE_ID = "14c5d75ce93.dfd.64b469"
EVENT_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"


def sg_event(event: str, timestamp: int, **fields: Any) -> dict[str, Any]:
    return {
        "email": "jenny.rosen@example.com",
        "timestamp": timestamp,
        "event": event,
        "sg_event_id": f"{event}-{timestamp}",
        "sg_message_id": EVENT_MESSAGE_ID,
        **fields,
    }


def group(event: str, timestamp: int) -> dict[str, Any]:
    return sg_event(event, timestamp, asm_group_id=1, useragent="Mozilla/5.0", ip="192.0.2.1")


@pytest.fixture
def message() -> EmailMessage:
    return EmailMessage.objects.create(
        to=["jenny.rosen@example.com"],
        from_email="noreply@example.com",
        subject="Hello",
        sg_message_id=X_MESSAGE_ID,
        status=EmailMessage.Status.SENT,
        transport=EmailMessage.Transport.SENDGRID,
        timeline=[{"event": "accepted", "at": 1699999990}],
    )


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        got.append({k: kwargs[k] for k in ("status", "previous_status", "event")})

    email_status_changed.connect(receiver, weak=False)
    yield got
    email_status_changed.disconnect(receiver)


# --- console only ----------------------------------------------------------------------------


def test_a_console_only_message_is_recorded_as_console_not_sent():
    with override_settings(SENDGRID_API_KEY=""):
        message = email_message_send(
            stream=io.StringIO(), to="a@example.com", subject="s", text="t"
        )
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.CONSOLE
    assert message.get_status_display() == "Recorded, not sent (console only)"
    assert message.transport == EmailMessage.Transport.CONSOLE
    assert message.sent_at is None


def test_the_django_backend_without_a_key_records_console(capsys):
    with override_settings(
        SENDGRID_API_KEY="", EMAIL_BACKEND="integrations.email.backend.SendGridBackend"
    ):
        assert mail.send_mail("Subject", "Body", None, ["a@example.com"]) == 1
    assert EmailMessage.objects.get().status == EmailMessage.Status.CONSOLE
    assert "NOT sent" in capsys.readouterr().out


def test_a_sendgrid_event_cannot_make_a_console_message_sent(received):
    with override_settings(SENDGRID_API_KEY=""):
        message = email_message_send(
            stream=io.StringIO(), to="a@example.com", subject="s", text="t"
        )
    email_event_apply({**sg_event("delivered", 1700000000), "liaison_message_id": message.pk})
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.CONSOLE
    assert received == []


# --- group_resubscribe -----------------------------------------------------------------------


def test_group_resubscribe_restores_the_status_before_the_group_unsubscribe(message, received):
    email_event_apply(sg_event("delivered", 1700000000))
    email_event_apply(sg_event("open", 1700000100))
    email_event_apply(group("group_unsubscribe", 1700000200))
    email_event_apply(group("group_resubscribe", 1700000300))

    message.refresh_from_db()
    assert message.status == EmailMessage.Status.OPENED
    assert received == [
        {"status": "delivered", "previous_status": "sent", "event": "delivered"},
        {"status": "opened", "previous_status": "delivered", "event": "opened"},
        {"status": "unsubscribed", "previous_status": "opened", "event": "unsubscribed"},
        {"status": "opened", "previous_status": "unsubscribed", "event": "resubscribed"},
    ]
    assert message.timeline[-1]["event"] == "group_resubscribe"
    assert message.timeline[-1]["asm_group_id"] == 1
    assert "ip" not in message.timeline[-1]


def test_after_resubscribing_later_events_move_the_status_again(message, received):
    email_event_apply(sg_event("delivered", 1700000000))
    email_event_apply(group("group_unsubscribe", 1700000200))
    email_event_apply(group("group_resubscribe", 1700000300))
    email_event_apply(sg_event("click", 1700000400))

    message.refresh_from_db()
    assert message.status == EmailMessage.Status.CLICKED
    assert [r["event"] for r in received][-2:] == ["resubscribed", "clicked"]


def test_a_sent_message_unsubscribed_then_resubscribed_is_sent_again(message, received):
    email_event_apply(group("group_unsubscribe", 1700000200))
    email_event_apply(group("group_resubscribe", 1700000300))
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.SENT
    assert received[-1] == {
        "status": "sent",
        "previous_status": "unsubscribed",
        "event": "resubscribed",
    }


def test_a_global_unsubscribe_is_not_undone_by_a_group_resubscribe(message, received):
    email_event_apply(sg_event("delivered", 1700000000))
    email_event_apply(sg_event("unsubscribe", 1700000200))
    email_event_apply(group("group_resubscribe", 1700000300))
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.UNSUBSCRIBED
    assert [r["event"] for r in received] == ["delivered", "unsubscribed"]


def test_a_resubscribe_that_arrives_first_wins_over_the_older_unsubscribe(message, received):
    email_event_apply(sg_event("delivered", 1700000000))
    email_event_apply(group("group_resubscribe", 1700000300))  # delivered out of order
    email_event_apply(group("group_unsubscribe", 1700000200))
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.DELIVERED
    assert [r["event"] for r in received] == ["delivered"]


def test_a_resubscribe_older_than_the_unsubscribe_changes_nothing(message, received):
    email_event_apply(sg_event("delivered", 1700000000))
    email_event_apply(group("group_unsubscribe", 1700000300))
    email_event_apply(group("group_resubscribe", 1700000200))  # older: superseded
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.UNSUBSCRIBED


def test_a_resubscribe_without_an_unsubscribe_changes_nothing(message, received):
    email_event_apply(sg_event("delivered", 1700000000))
    assert email_event_apply(group("group_resubscribe", 1700000300)) is True  # timeline only
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.DELIVERED
    assert [r["event"] for r in received] == ["delivered"]


def test_group_resubscribe_through_the_webhook_handler(message, received):
    endpoint = make_endpoint(provider="sendgrid", secret="unused")
    for name, timestamp in (
        ("delivered", 1700000000),
        ("group_unsubscribe", 1700000200),
        ("group_resubscribe", 1700000300),
    ):
        event = sendgrid_event(
            endpoint=endpoint,
            event=name,
            sg_message_id=EVENT_MESSAGE_ID,
            timestamp=timestamp,
            asm_group_id=1,
        )
        assert webhook_event_process(event_pk=event.pk).status == "processed"
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.DELIVERED
    assert received[-1]["event"] == "resubscribed"
