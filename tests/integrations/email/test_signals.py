"""`email_status_changed`: one signal per status change from SendGrid's events, with the
normalized event name; nothing for duplicates, unmatched messages or events that do not move
the status. Event shapes follow SendGrid's event reference
(https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.email.models import EmailMessage
from integrations.email.services import email_event_apply
from integrations.email.signals import email_event_received, email_status_changed
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import sendgrid_event
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db

X_MESSAGE_ID = "14c5d75ce93.dfd.64b469"
EVENT_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"


def sg_event(event: str, *, timestamp: int = 1700000000, **fields: Any) -> dict[str, Any]:
    return {
        "email": "jenny.rosen@example.com",
        "timestamp": timestamp,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": ["payment"],
        "sg_event_id": fields.pop("sg_event_id", f"{event}-{timestamp}"),
        "sg_message_id": EVENT_MESSAGE_ID,
        **fields,
    }


@pytest.fixture
def message() -> EmailMessage:
    return EmailMessage.objects.create(
        to=["jenny.rosen@example.com"],
        from_email="noreply@example.com",
        subject="Hello",
        sg_message_id=X_MESSAGE_ID,
        status=EmailMessage.Status.QUEUED,
    )


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        got.append({"sender": sender, **kwargs})

    email_status_changed.connect(receiver, weak=False)
    yield got
    email_status_changed.disconnect(receiver)


@pytest.mark.parametrize(
    ("sendgrid_name", "event", "status"),
    [
        ("processed", "processed", "sent"),
        ("deferred", "deferred", "deferred"),
        ("delivered", "delivered", "delivered"),
        ("bounce", "bounced", "bounced"),
        ("dropped", "dropped", "dropped"),
        ("open", "opened", "opened"),
        ("click", "clicked", "clicked"),
        ("spamreport", "spam_report", "spam_report"),
        ("unsubscribe", "unsubscribed", "unsubscribed"),
        ("group_unsubscribe", "unsubscribed", "unsubscribed"),
    ],
)
def test_each_sendgrid_event_reports_its_normalized_name(
    message, received, sendgrid_name, event, status
):
    email_event_apply(sg_event(sendgrid_name))

    assert len(received) == 1
    sent = received[0]
    assert sent["sender"] is EmailMessage
    assert sent["message"].pk == message.pk
    assert (sent["event"], sent["status"], sent["previous_status"]) == (event, status, "queued")
    assert sent["message"].status == status


def test_a_duplicate_event_is_not_sent_twice(message, received):
    delivered = sg_event("delivered", sg_event_id="ZGVsaXZlcmVkLTAtMjQ0MjE2NjAtMQ")
    email_event_apply(sg_event("processed", timestamp=1699999990))
    email_event_apply(delivered)
    email_event_apply(delivered)

    assert [(r["previous_status"], r["status"]) for r in received] == [
        ("queued", "sent"),
        ("sent", "delivered"),
    ]


def test_an_event_that_does_not_move_the_status_sends_nothing(message, received):
    email_event_apply(sg_event("delivered", timestamp=1700000010))
    email_event_apply(sg_event("processed", timestamp=1700000001))  # late
    email_event_apply(sg_event("open", timestamp=1700000100))
    email_event_apply(sg_event("open", timestamp=1700000200))  # opened again

    assert [r["event"] for r in received] == ["delivered", "opened"]
    message.refresh_from_db()
    assert len(message.timeline) == 4


def test_an_event_for_a_message_liaison_did_not_send_sends_nothing(received):
    email_event_apply(sg_event("delivered"))
    assert received == []


def test_a_receiver_that_raises_fails_the_webhook_event_and_keeps_the_old_status(message):
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver broke")

    endpoint = make_endpoint(provider="sendgrid", secret="unused")
    event = sendgrid_event(
        endpoint=endpoint, event="delivered", sg_message_id=EVENT_MESSAGE_ID, timestamp=1700000000
    )
    email_status_changed.connect(broken, weak=False)
    try:
        assert webhook_event_process(event_pk=event.pk).status == "failed"
    finally:
        email_status_changed.disconnect(broken)

    message.refresh_from_db()
    assert message.status == "queued"
    assert message.timeline == []


@pytest.fixture
def tracked() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        got.append(kwargs)

    email_event_received.connect(receiver, weak=False)
    yield got
    email_event_received.disconnect(receiver)


def test_every_tracking_event_is_reported_even_when_the_status_stays(message, tracked):
    """A second click, an open after a click and a late `deferred` move no status but are
    still tracking events a host wants (anymail's tracking signal)."""
    email_event_apply(sg_event("delivered", timestamp=1700000010))
    email_event_apply(sg_event("click", timestamp=1700000100, url="https://example.com/a"))
    email_event_apply(sg_event("click", timestamp=1700000200, url="https://example.com/b"))
    email_event_apply(sg_event("open", timestamp=1700000300))
    email_event_apply(sg_event("deferred", timestamp=1700000400, attempt="1"))

    assert [(t["event"], t["status"], t["url"]) for t in tracked] == [
        ("delivered", "delivered", None),
        ("clicked", "clicked", "https://example.com/a"),
        ("clicked", "clicked", "https://example.com/b"),
        ("opened", "clicked", None),
        ("deferred", "clicked", None),
    ]
    assert all(t["message"].pk == message.pk for t in tracked)
    message.refresh_from_db()
    assert "https://example.com" not in str(message.timeline)  # the URL is not stored


def test_a_duplicate_or_unmatched_tracking_event_is_not_reported(message, tracked):
    opened = sg_event("open", sg_event_id="b3Blbi0xMjM0NQ")
    email_event_apply(opened)
    email_event_apply(opened)
    email_event_apply({**sg_event("open"), "sg_message_id": "unknown.filter-1"})

    assert [t["event"] for t in tracked] == ["opened"]
