"""SendGrid events whose text PostgreSQL would refuse (NUL) are applied, on every database."""

from __future__ import annotations

import pytest

from integrations.email.models import EmailMessage
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import sendgrid_event
from webhooks.models import WebhookEvent
from webhooks.services.processing import webhook_event_process

pytestmark = pytest.mark.django_db

X_MESSAGE_ID = "14c5d75ce93.dfd.64b469"
EVENT_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"


@pytest.fixture
def message() -> EmailMessage:
    return EmailMessage.objects.create(
        to=["jenny.rosen@example.com"],
        from_email="noreply@example.com",
        subject="Hello",
        sg_message_id=X_MESSAGE_ID,
        status=EmailMessage.Status.SENT,
    )


def test_bounce_reason_with_nul_is_recorded_without_it(message):
    event = sendgrid_event(
        endpoint=make_endpoint(provider="sendgrid", secret="unused"),
        event="bounce",
        sg_message_id=EVENT_MESSAGE_ID,
        timestamp=1700000010,
        reason="550 5.1.1\x00 mailbox unavailable \ud83d",
        type="bounce",
    )

    webhook_event_process(event_pk=event.pk)

    event.refresh_from_db()
    assert (event.status, event.last_error) == (WebhookEvent.Status.PROCESSED, "")
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.BOUNCED
    assert message.last_error == "550 5.1.1 mailbox unavailable \ufffd"
    assert message.timeline[-1]["reason"] == message.last_error


def test_an_unmatched_message_id_too_long_to_store_is_not_kept():
    message = EmailMessage.objects.create(
        to=["jenny.rosen@example.com"], from_email="noreply@example.com", subject="Hello"
    )
    event = sendgrid_event(
        endpoint=make_endpoint(provider="sendgrid", secret="unused"),
        event="delivered",
        sg_message_id="m" * 300,
        timestamp=1700000010,
        liaison_message_id=str(message.pk),
    )

    webhook_event_process(event_pk=event.pk)

    event.refresh_from_db()
    assert (event.status, event.last_error) == (WebhookEvent.Status.PROCESSED, "")
    message.refresh_from_db()
    assert (message.status, message.sg_message_id) == (EmailMessage.Status.DELIVERED, "")
