"""SendGrid event handler: mixed batches, duplicates, out-of-order status."""

from __future__ import annotations

import pytest

from integrations.email.models import EmailMessage
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import sendgrid_event
from webhooks.handlers.sendgrid import email_event

pytestmark = pytest.mark.django_db

X_MESSAGE_ID = "14c5d75ce93.dfd.64b469"
EVENT_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"


@pytest.fixture
def message():
    return EmailMessage.objects.create(
        to=["jenny.rosen@example.com"],
        from_email="noreply@example.com",
        subject="Hello",
        sg_message_id=X_MESSAGE_ID,
        status=EmailMessage.Status.SENT,
    )


def test_mixed_batch_out_of_order_keeps_the_furthest_status(message):
    endpoint = make_endpoint(provider="sendgrid", secret="unused")
    batch = [
        sendgrid_event(
            endpoint=endpoint,
            event="delivered",
            sg_message_id=EVENT_MESSAGE_ID,
            timestamp=1700000010,
        ),
        sendgrid_event(
            endpoint=endpoint,
            event="processed",
            sg_message_id=EVENT_MESSAGE_ID,
            timestamp=1700000001,
        ),
        sendgrid_event(
            endpoint=endpoint,
            event="deferred",
            sg_message_id=EVENT_MESSAGE_ID,
            timestamp=1700000005,
            response="400 try again later",
            attempt="1",
        ),
        sendgrid_event(
            endpoint=endpoint,
            event="open",
            sg_message_id=EVENT_MESSAGE_ID,
            timestamp=1700000100,
            useragent="Mozilla/5.0",
            ip="255.255.255.255",
        ),
        sendgrid_event(
            endpoint=endpoint,
            event="delivered",
            sg_message_id="unknown.filter1",
            timestamp=1700000010,
        ),
    ]
    for event in batch:
        email_event(event)
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.OPENED
    assert [entry["event"] for entry in message.timeline] == [
        "processed",
        "deferred",
        "delivered",
        "open",
    ]
    assert "ip" not in message.timeline[-1]  # no addresses / IPs kept


def test_same_sg_event_id_applies_once(message):
    endpoint = make_endpoint(provider="sendgrid", secret="unused")
    event = sendgrid_event(
        endpoint=endpoint, event="delivered", sg_message_id=EVENT_MESSAGE_ID, timestamp=1700000010
    )
    email_event(event)
    email_event(event)
    message.refresh_from_db()
    assert len(message.timeline) == 1


def test_bounce_records_reason(message):
    endpoint = make_endpoint(provider="sendgrid", secret="unused")
    email_event(
        sendgrid_event(
            endpoint=endpoint,
            event="bounce",
            sg_message_id=EVENT_MESSAGE_ID,
            timestamp=1700000010,
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
            type="bounce",
        )
    )
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.BOUNCED
    assert message.last_error.startswith("550 5.1.1")


def test_custom_arg_correlates_when_the_message_id_is_unknown():
    message = EmailMessage.objects.create(to=["a@example.com"], from_email="n@example.com")
    endpoint = make_endpoint(provider="sendgrid", secret="unused")
    email_event(
        sendgrid_event(
            endpoint=endpoint,
            event="dropped",
            sg_message_id="",
            timestamp=1700000010,
            reason="Bounced Address",
            liaison_message_id=str(message.pk),
        )
    )
    message.refresh_from_db()
    assert message.status == EmailMessage.Status.DROPPED
