"""Sending a recorded message through SendGrid's v3 Mail Send API, once.

API: https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send (202 + X-Message-Id)

The send goes through the resilient client (`ServiceClient("sendgrid")`: timeouts, breaker,
rate limiter, metrics) without an idempotency key, so the client never repeats the POST:
SendGrid has no idempotency keys, and a repeated POST after a read timeout would mail the
customer twice. Retries belong to the outbox, which knows what happened before.

Before the POST the message is marked `sending` (with `send_started_at`), committed on its own;
after it, `sent` with SendGrid's X-Message-Id. A worker that dies in between, or a database
that fails right after SendGrid accepted, leaves it `sending`: the outbox action then waits up
to `SENDGRID_PROCESSED_WAIT_SECONDS` for SendGrid's `processed` event (matched by the
`liaison_message_id` custom argument) before it sends again. A read timeout is treated the
same way (SendGrid may have accepted); every other failure means SendGrid accepted nothing.

Without SENDGRID_API_KEY the message is recorded and printed to the console with a note that
nothing left this machine — never silently dropped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.core.exceptions import ClientError, IntegrationError, Timeout
from integrations.core.redaction import redact_text
from integrations.email import conf
from integrations.email.exceptions import EmailNotSendable
from integrations.email.models import EmailMessage
from integrations.email.services.compose import (
    EmailAttachment,
    email_mail_build,
    email_message_compose,
)
from integrations.outbound.http import ServiceClient

logger = logging.getLogger(__name__)

SERVICE = "sendgrid"
MAIL_SEND_PATH = "/v3/mail/send"
Status = EmailMessage.Status
# Statuses a send may start from: never sent, or a send whose outcome is unknown.
SENDABLE = (Status.QUEUED, Status.SENDING)


class TextStream(Protocol):
    def write(self, text: str) -> Any: ...

    def flush(self) -> Any: ...


def email_message_send(
    *,
    to: str | Sequence[str],
    subject: str = "",
    text: str = "",
    html: str = "",
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    from_email: str | None = None,
    reply_to: str | Sequence[str] | None = None,
    attachments: Sequence[EmailAttachment] = (),
    categories: Sequence[str] = (),
    custom_args: Mapping[str, str] | None = None,
    template_id: str = "",
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    send_at: int | None = None,
    sandbox_mode: bool = False,
    stream: TextStream | None = None,
) -> EmailMessage:
    """Record and send now; transport errors are recorded on the row (failed), then raised.

    `reply_to` takes one address or several (SendGrid `reply_to_list`); `headers` become
    SendGrid `headers`; `template_id` with `data` sends a dynamic template; `send_at` is a
    Unix timestamp (SendGrid schedules up to 72 hours ahead); `sandbox_mode=True` sends this
    message in SendGrid's sandbox (validated, not delivered) even when SENDGRID_SANDBOX_MODE is
    off. For a message that must go out after a state change, use `email_message_enqueue`.
    """
    message, _ = email_message_compose(
        to=to,
        subject=subject,
        text=text,
        html=html,
        template_id=template_id,
        data=data,
        cc=cc,
        bcc=bcc,
        from_email=from_email,
        reply_to=reply_to,
        attachments=attachments,
        categories=categories,
        custom_args=custom_args,
        headers=headers,
        send_at=send_at,
        sandbox_mode=sandbox_mode,
    )
    return email_message_deliver(message=message, stream=stream)


def email_message_deliver(
    *, message: EmailMessage, stream: TextStream | None = None, keep_queued: bool = False
) -> EmailMessage:
    """Send a recorded message once; a process that claimed it meanwhile wins.

    `keep_queued=True` (the outbox) leaves a message whose send failed transiently `queued`
    for the next attempt instead of `failed`.
    """
    claimed = EmailMessage.objects.filter(
        pk=message.pk, status__in=SENDABLE, attempts=message.attempts
    ).update(attempts=F("attempts") + 1, status=Status.SENDING, send_started_at=timezone.now())
    message.refresh_from_db()
    if not claimed:
        return message
    if not message.to:
        _record_failure(message, "No recipient address.", status=Status.FAILED, retryable=False)
        raise EmailNotSendable("The message has no recipient.", service=SERVICE)
    if not conf.sendgrid_api_key():
        return _deliver_to_console(message, stream=stream)
    # The setting forces the sandbox for every message; a message can only add it.
    sandbox = conf.sendgrid_sandbox_mode() or bool((message.request or {}).get("sandbox_mode"))
    body = email_mail_build(message=message, sandbox=sandbox).get()
    try:
        response = ServiceClient(SERVICE).request(
            "POST",
            MAIL_SEND_PATH,
            json=body,
            headers={"Authorization": f"Bearer {conf.sendgrid_api_key()}"},
        )
    except IntegrationError as exc:
        if _may_have_been_accepted(exc):
            status = Status.SENDING  # the outbox waits for SendGrid's events before resending
        elif exc.retryable and keep_queued:
            status = Status.QUEUED
        else:
            status = Status.FAILED
        _record_failure(message, _describe(exc), status=status, retryable=exc.retryable)
        raise
    return _record_accepted(
        message,
        sg_message_id=response.headers.get("X-Message-Id", ""),
        transport=EmailMessage.Transport.SANDBOX if sandbox else EmailMessage.Transport.SENDGRID,
    )


def _may_have_been_accepted(exc: IntegrationError) -> bool:
    """A read timeout: the request may have reached SendGrid. A connect timeout never did."""
    return isinstance(exc, Timeout) and not isinstance(exc.__cause__, requests.ConnectTimeout)


def _record_accepted(message: EmailMessage, *, sg_message_id: str, transport: str) -> EmailMessage:
    """Record SendGrid's 202. An event may have got here first (then its status stands)."""
    with transaction.atomic():
        row = EmailMessage.objects.select_for_update().get(pk=message.pk)
        if row.status in SENDABLE or row.status == Status.FAILED:
            row.status = Status.SENT
        row.sg_message_id = row.sg_message_id or sg_message_id
        row.transport = transport
        row.sent_at = row.sent_at or timezone.now()
        row.last_error = ""
        row.timeline = [*row.timeline, {"event": "accepted", "at": now_epoch()}]
        row.save()
    logger.info(
        "email_sent",
        extra={
            "email_message_id": row.pk,
            "sg_message_id": row.sg_message_id,
            "sandbox": transport == EmailMessage.Transport.SANDBOX,
        },
    )
    return row


def _deliver_to_console(message: EmailMessage, *, stream: TextStream | None) -> EmailMessage:
    note = "SENDGRID_API_KEY is not set: this message was NOT sent; nothing left this machine."
    out = stream or sys.stdout
    request = message.request or {}
    lines = [
        "-" * 72,
        f"[liaison email #{message.pk}] {note}",
        f"From: {message.from_email}",
        f"To: {', '.join(message.to)}",
    ]
    if message.cc:
        lines.append(f"Cc: {', '.join(message.cc)}")
    lines.append(f"Subject: {message.subject}")
    if message.template_id:
        lines.append(f"Template: {message.template_id} data={request.get('template_data')}")
    lines += ["", request.get("text") or request.get("html") or ""]
    for item in request.get("attachments") or []:
        lines.append(f"[attachment] {item['filename']} ({item['type']})")
    lines.append("-" * 72)
    if not settings.DEBUG:  # issue 18: no content (addresses, reset links) in production logs
        lines = [f"[liaison email #{message.pk}] {note} (content printed only with DEBUG=1)"]
    out.write(redact_text("\n".join(lines)) + "\n")
    out.flush()
    message.transport = EmailMessage.Transport.CONSOLE
    # Recorded and printed, never handed to SendGrid: not "sent", and no `sent_at`.
    message.status = Status.CONSOLE
    message.timeline = [*message.timeline, {"event": "console", "at": now_epoch(), "note": note}]
    message.save()
    logger.warning("email_console_only", extra={"email_message_id": message.pk})
    return message


def _record_failure(message: EmailMessage, error: str, *, status: str, retryable: bool) -> None:
    message.last_error = error
    message.status = status
    message.timeline = [
        *message.timeline,
        {"event": "send_failed", "at": now_epoch(), "retryable": retryable},
    ]
    message.save()
    logger.warning(
        "email_send_failed", extra={"email_message_id": message.pk, "retryable": retryable}
    )


def _describe(exc: IntegrationError) -> str:
    text = f"{type(exc).__name__} (status {exc.status})"
    if isinstance(exc, ClientError) and isinstance(exc.payload, dict):
        errors = exc.payload.get("errors") or []
        messages = [str(e.get("message")) for e in errors if isinstance(e, dict)]
        if messages:
            text += ": " + "; ".join(messages)
    return text


def now_epoch() -> int:
    return int(timezone.now().timestamp())
