"""The Django backend hands SendGrid everything a Django message carries: `extra_headers`,
every reply-to address, and — through `message.esp_extra` — categories, custom args, a dynamic
template and its data, `send_at` and the sandbox flag. Asserted on the JSON body POSTed to the
mocked https://api.sendgrid.com/v3/mail/send (shape per SendGrid's v3 Mail Send reference)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from django.core import mail
from django.test import override_settings

from integrations.email.backend import SendGridBackend
from integrations.email.models import EmailMessage
from integrations.email.services import email_message_resend

pytestmark = pytest.mark.django_db

SEND_URL = "https://api.sendgrid.com/v3/mail/send"
BACKEND = "integrations.email.backend.SendGridBackend"


@pytest.fixture(autouse=True)
def sendgrid_key():
    with override_settings(
        SENDGRID_API_KEY="SG.fake-test-key",
        DEFAULT_FROM_EMAIL="noreply@example.com",
        EMAIL_BACKEND=BACKEND,
    ):
        yield


def accepted(message_id: str = "W86EgYT6SQKk0lRflfLRsA") -> None:
    responses.post(SEND_URL, status=202, body="", headers={"X-Message-Id": message_id})


def sent_body(index: int = 0) -> dict[str, Any]:
    return json.loads(responses.calls[index].request.body)


@responses.activate
def test_headers_every_reply_to_tags_and_metadata_reach_sendgrid():
    accepted()
    email = mail.EmailMessage(
        subject="Receipt",
        body="Thanks.",
        to=["a@example.com"],
        reply_to=["billing@example.com", "Support <support@example.com>"],
        headers={"X-Order": "ORD-1", "List-Unsubscribe": "<mailto:unsub@example.com>"},
    )
    email.esp_extra = {  # type: ignore[attr-defined]
        "categories": ["receipt", "shop"],
        "custom_args": {"order": "ORD-1", "attempt": 2},
    }
    assert email.send() == 1

    body = sent_body()
    assert body["headers"] == {
        "X-Order": "ORD-1",
        "List-Unsubscribe": "<mailto:unsub@example.com>",
    }
    assert body["reply_to_list"] == [
        {"email": "billing@example.com"},
        {"email": "support@example.com", "name": "Support"},
    ]
    assert "reply_to" not in body  # SendGrid takes one of the two, never both
    assert sorted(body["categories"]) == ["receipt", "shop"]  # the helper reverses them
    message = EmailMessage.objects.get()
    assert body["custom_args"] == {
        "order": "ORD-1",
        "attempt": "2",  # SendGrid custom args are strings
        "liaison_message_id": str(message.pk),
    }
    assert message.reply_to == "billing@example.com"
    assert message.status == EmailMessage.Status.SENT


@responses.activate
def test_template_data_send_at_and_sandbox_through_esp_extra():
    accepted()
    email = mail.EmailMessage(subject="", body="ignored", to=["a@example.com"])
    email.esp_extra = {  # type: ignore[attr-defined]
        "template_id": "d-0123456789abcdef",
        "dynamic_template_data": {"name": "Jenny", "total": 20},
        "send_at": 1700000000,
        "sandbox_mode": True,
    }
    assert email.send() == 1

    body = sent_body()
    assert body["template_id"] == "d-0123456789abcdef"
    assert body["personalizations"][0]["dynamic_template_data"] == {"name": "Jenny", "total": 20}
    assert "content" not in body
    assert body["send_at"] == 1700000000
    assert body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    message = EmailMessage.objects.get()
    assert message.template_id == "d-0123456789abcdef"
    assert message.transport == EmailMessage.Transport.SANDBOX


@responses.activate
def test_send_at_accepts_an_aware_datetime():
    accepted()
    email = mail.EmailMessage(subject="Later", body="b", to=["a@example.com"])
    email.esp_extra = {"send_at": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)}  # type: ignore[attr-defined]
    email.send()
    assert sent_body()["send_at"] == 1700000000


@responses.activate
def test_a_single_reply_to_stays_reply_to():
    accepted()
    mail.EmailMessage(
        subject="s", body="b", to=["a@example.com"], reply_to=["r@example.com"]
    ).send()
    body = sent_body()
    assert body["reply_to"] == {"email": "r@example.com"}
    assert "reply_to_list" not in body


@responses.activate
def test_a_reply_to_header_replaces_reply_to_as_in_django():
    accepted()
    mail.EmailMessage(
        subject="s",
        body="b",
        to=["a@example.com"],
        reply_to=["ignored@example.com"],
        headers={"Reply-To": "one@example.com, Two <two@example.com>"},
    ).send()
    body = sent_body()
    assert body["reply_to_list"] == [
        {"email": "one@example.com"},
        {"email": "two@example.com", "name": "Two"},
    ]
    assert "headers" not in body


@responses.activate
def test_resend_keeps_headers_and_every_reply_to():
    accepted("first")
    mail.EmailMessage(
        subject="s",
        body="b",
        to=["a@example.com"],
        reply_to=["x@example.com", "y@example.com"],
        headers={"X-Order": "ORD-9"},
    ).send()
    responses.replace(responses.POST, SEND_URL, status=202, headers={"X-Message-Id": "second"})
    email_message_resend(message=EmailMessage.objects.get(), force=True)
    body = sent_body(1)
    assert body["headers"] == {"X-Order": "ORD-9"}
    assert body["reply_to_list"] == [{"email": "x@example.com"}, {"email": "y@example.com"}]


@pytest.mark.parametrize(
    ("esp_extra", "headers", "error"),
    [
        ({"tags": ["x"]}, {}, "Unknown esp_extra key"),
        ({"send_at": "tomorrow"}, {}, "Unix timestamp"),
        ({"send_at": datetime(2030, 1, 1)}, {}, "timezone-aware"),
        ({}, {"Subject": "other"}, "does not accept the 'Subject' header"),
    ],
)
@responses.activate
def test_what_sendgrid_cannot_take_raises_even_when_failing_silently(esp_extra, headers, error):
    email = mail.EmailMessage(subject="s", body="b", to=["a@example.com"], headers=headers)
    email.esp_extra = esp_extra  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=error):
        SendGridBackend(fail_silently=True).send_messages([email])
    assert not EmailMessage.objects.exists()
    assert len(responses.calls) == 0
