"""Email services, the Django backend and send_test_email against `responses` on
https://api.sendgrid.com, and the console path without a key."""

from __future__ import annotations

import base64
import io
import json
from email.mime.image import MIMEImage

import pytest
import responses
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from integrations.core.exceptions import ClientError
from integrations.email.backend import SendGridBackend
from integrations.email.models import EmailMessage
from integrations.email.services import (
    EmailAttachment,
    email_message_enqueue,
    email_message_resend,
    email_message_send,
)

pytestmark = pytest.mark.django_db

SEND_URL = "https://api.sendgrid.com/v3/mail/send"
FAKE_KEY = "SG.fake-test-key"


@pytest.fixture
def sendgrid_key():
    with override_settings(SENDGRID_API_KEY=FAKE_KEY, DEFAULT_FROM_EMAIL="noreply@example.com"):
        yield


def accepted(message_id="W86EgYT6SQKk0lRflfLRsA"):
    responses.post(SEND_URL, status=202, body="", headers={"X-Message-Id": message_id})


@responses.activate
def test_send_builds_the_v3_body_and_records_the_message_id(sendgrid_key):
    accepted()
    message = email_message_send(
        to=["a@example.com"],
        cc=["c@example.com"],
        subject="Hi",
        text="plain",
        html="<p>html</p>",
        reply_to="support@example.com",
        categories=["welcome"],
        custom_args={"order": "ORD-1"},
        attachments=[EmailAttachment("a.txt", b"hello", "text/plain")],
    )
    request = responses.calls[0].request
    body = json.loads(request.body)
    assert request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert body["from"] == {"email": "noreply@example.com"}
    assert body["personalizations"] == [
        {"to": [{"email": "a@example.com"}], "cc": [{"email": "c@example.com"}]}
    ]
    assert body["content"] == [
        {"type": "text/plain", "value": "plain"},
        {"type": "text/html", "value": "<p>html</p>"},
    ]
    assert body["reply_to"] == {"email": "support@example.com"}
    assert body["categories"] == ["welcome"]
    assert body["custom_args"] == {"order": "ORD-1", "liaison_message_id": str(message.pk)}
    assert body["attachments"][0]["content"] == base64.b64encode(b"hello").decode()
    assert message.sg_message_id == "W86EgYT6SQKk0lRflfLRsA"
    assert message.status == EmailMessage.Status.SENT
    assert message.transport == EmailMessage.Transport.SENDGRID


@responses.activate
def test_send_template_sends_template_id_and_dynamic_data(sendgrid_key):
    accepted()
    email_message_send(
        to="a@example.com", template_id="d-0123456789abcdef", data={"name": "Jenny", "total": 20}
    )
    body = json.loads(responses.calls[0].request.body)
    assert body["template_id"] == "d-0123456789abcdef"
    assert body["personalizations"][0]["dynamic_template_data"] == {"name": "Jenny", "total": 20}
    assert "content" not in body


@responses.activate
def test_sandbox_mode_is_sent_in_mail_settings(sendgrid_key):
    responses.post(SEND_URL, status=200, body="")
    with override_settings(SENDGRID_SANDBOX_MODE=True):
        message = email_message_send(to="a@example.com", subject="s", text="t")
    body = json.loads(responses.calls[0].request.body)
    assert body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert message.transport == EmailMessage.Transport.SANDBOX


@responses.activate
def test_rejected_send_is_recorded_with_sendgrids_reason(sendgrid_key):
    responses.post(
        SEND_URL,
        status=403,
        json={
            "errors": [
                {
                    "message": "The from address does not match a verified Sender Identity.",
                    "field": "from",
                    "help": None,
                }
            ]
        },
    )
    with pytest.raises(ClientError):
        email_message_send(to="a@example.com", subject="s", text="t")
    message = EmailMessage.objects.get()
    assert message.status == EmailMessage.Status.FAILED
    assert "verified Sender Identity" in message.last_error


def test_without_a_key_the_message_is_printed_and_recorded():
    stream = io.StringIO()
    with override_settings(SENDGRID_API_KEY="", DEBUG=True):  # content only with DEBUG=1
        message = email_message_send(
            stream=stream, to="a@example.com", subject="Console", text="body text"
        )
    output = stream.getvalue()
    assert "nothing left this machine" in output
    assert "Subject: Console" in output
    assert "body text" in output
    assert message.transport == EmailMessage.Transport.CONSOLE
    assert message.timeline[-1]["event"] == "console"


@responses.activate
def test_django_backend_sends_alternatives_and_attachments(sendgrid_key):
    accepted()
    email = mail.EmailMultiAlternatives(
        subject="Invoice",
        body="See attached.",
        from_email="billing@example.com",
        to=["a@example.com"],
        bcc=["audit@example.com"],
        reply_to=["help@example.com"],
    )
    email.attach_alternative("<p>See attached.</p>", "text/html")
    email.attach("invoice.pdf", b"%PDF-1.4 fake", "application/pdf")
    image = MIMEImage(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "gif")
    image.add_header("Content-ID", "<logo>")
    image.add_header("Content-Disposition", "inline", filename="logo.gif")
    email.attach(image)
    with override_settings(EMAIL_BACKEND="integrations.email.backend.SendGridBackend"):
        assert email.send() == 1
    body = json.loads(responses.calls[0].request.body)
    assert body["from"] == {"email": "billing@example.com"}
    assert body["personalizations"][0]["bcc"] == [{"email": "audit@example.com"}]
    assert body["content"][1] == {"type": "text/html", "value": "<p>See attached.</p>"}
    by_name = {item["filename"]: item for item in body["attachments"]}
    pdf, gif = by_name["invoice.pdf"], by_name["logo.gif"]
    assert (pdf["filename"], pdf["type"]) == ("invoice.pdf", "application/pdf")
    assert base64.b64decode(pdf["content"]) == b"%PDF-1.4 fake"
    assert (gif["disposition"], gif["content_id"]) == ("inline", "logo")


@responses.activate
def test_send_mail_goes_through_the_backend(sendgrid_key):
    accepted()
    with override_settings(EMAIL_BACKEND="integrations.email.backend.SendGridBackend"):
        assert mail.send_mail("Subject", "Body", None, ["a@example.com"]) == 1
    assert EmailMessage.objects.get().subject == "Subject"


def test_backend_fail_silently_swallows_transport_errors(sendgrid_key):
    with responses.RequestsMock() as rsps:
        rsps.post(SEND_URL, status=400, json={"errors": [{"message": "bad"}]})
        backend = SendGridBackend(fail_silently=True)
        sent = backend.send_messages(
            [mail.EmailMessage("s", "b", "f@example.com", ["a@example.com"])]
        )
    assert sent == 0
    assert EmailMessage.objects.get().status == EmailMessage.Status.FAILED


def test_enqueue_with_a_purpose_key_records_and_sends_once(django_capture_on_commit_callbacks):
    with override_settings(SENDGRID_API_KEY=""), django_capture_on_commit_callbacks(execute=True):
        first, created = email_message_enqueue(
            purpose_key="test:1", to=["a@example.com"], subject="s"
        )
        again, created_again = email_message_enqueue(
            purpose_key="test:1", to=["a@example.com"], subject="s"
        )
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    first.refresh_from_db()
    assert first.status == EmailMessage.Status.CONSOLE  # no key: recorded, not sent
    assert first.attempts == 1


@responses.activate
def test_resend_creates_a_new_message(sendgrid_key):
    accepted("first")
    original = email_message_send(to="a@example.com", subject="s", text="t")
    responses.replace(responses.POST, SEND_URL, status=202, headers={"X-Message-Id": "second"})
    copy = email_message_resend(message=original, force=True)
    assert copy.pk != original.pk
    assert copy.sg_message_id == "second"
    assert json.loads(responses.calls[1].request.body)["content"][0]["value"] == "t"


def test_send_test_email_command_without_key_prints_to_console():
    out = io.StringIO()
    with override_settings(SENDGRID_API_KEY=""):
        call_command("send_test_email", "a@example.com", stdout=out)
    assert "nothing left this machine" in out.getvalue()
    assert "Console only" in out.getvalue()


@responses.activate
def test_send_test_email_command_with_template(sendgrid_key):
    accepted()
    call_command("send_test_email", "a@example.com", "--template", "d-abc", stdout=io.StringIO())
    assert json.loads(responses.calls[0].request.body)["template_id"] == "d-abc"
