"""Sending email through SendGrid's v3 Mail Send API, and applying SendGrid's events.

Messages are built with the `sendgrid` package's helpers (`sendgrid.helpers.mail.Mail` →
`.get()`), then POSTed to `/v3/mail/send` through the resilient client
(`integrations.outbound.http.ServiceClient("sendgrid")`), so timeouts, retries, the breaker,
the rate limiter and metrics apply. Every send is recorded as an `EmailMessage` first; its
status then follows SendGrid's event webhook, and each change sends
`integrations.email.signals.email_status_changed`.

Without SENDGRID_API_KEY the message is recorded and printed to the console with a note that
nothing left this machine — never silently dropped.

API: https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send (202 + X-Message-Id)
Events: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
"""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from sendgrid.helpers.mail import (
    Attachment,
    Bcc,
    Category,
    Cc,
    ContentId,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    MailSettings,
    Personalization,
    ReplyTo,
    SandBoxMode,
    SendAt,
    TemplateId,
    To,
)

from integrations.core.exceptions import ClientError, IntegrationError
from integrations.core.redaction import redact_text
from integrations.email import conf
from integrations.email.exceptions import EmailNotSendable
from integrations.email.models import EmailMessage
from integrations.email.signals import email_status_changed

# Imported here (not lazily) so every process that can enqueue also registers the task.
from integrations.email.tasks import email_message_send_task
from integrations.outbound.http import ServiceClient

logger = logging.getLogger(__name__)

SERVICE = "sendgrid"
MAIL_SEND_PATH = "/v3/mail/send"
# Custom arg carrying our row id: SendGrid echoes custom args in every event of the message.
MESSAGE_ID_ARG = "liaison_message_id"


class TextStream(Protocol):
    def write(self, text: str) -> Any: ...

    def flush(self) -> Any: ...


@dataclass(frozen=True)
class EmailAttachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"
    disposition: str = "attachment"
    content_id: str = ""


def _addresses(value: str | Iterable[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [address for address in value if address]


class SendGridEmailService:
    """Compose, record and send messages. `stream` receives the console copies."""

    def __init__(self, *, stream: TextStream | None = None) -> None:
        self.stream = stream

    # --- public API --------------------------------------------------------------------------

    def send(
        self,
        *,
        to: str | Sequence[str],
        subject: str,
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
    ) -> EmailMessage:
        """Record and send now. Transport errors are recorded on the row, then raised.

        `reply_to` takes one address or several (SendGrid `reply_to_list`); `headers` become
        SendGrid `headers`; `send_at` is a Unix timestamp (SendGrid schedules up to 72 hours
        ahead); `sandbox_mode=True` sends this message in SendGrid's sandbox (validated, not
        delivered) even when SENDGRID_SANDBOX_MODE is off.
        """
        message, _ = self.compose(
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
        return self.deliver(message)

    def send_template(
        self,
        *,
        to: str | Sequence[str],
        template_id: str,
        data: Mapping[str, Any] | None = None,
        subject: str = "",
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        from_email: str | None = None,
        reply_to: str | Sequence[str] | None = None,
        attachments: Sequence[EmailAttachment] = (),
        categories: Sequence[str] = (),
        custom_args: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """Record and send a dynamic template message (`data` → dynamic_template_data)."""
        message, _ = self.compose(
            to=to,
            template_id=template_id,
            data=data,
            subject=subject,
            cc=cc,
            bcc=bcc,
            from_email=from_email,
            reply_to=reply_to,
            attachments=attachments,
            categories=categories,
            custom_args=custom_args,
        )
        return self.deliver(message)

    def enqueue(
        self, *, purpose_key: str | None = None, **fields: Any
    ) -> tuple[EmailMessage, bool]:
        """Record a message and send it after the surrounding transaction commits.

        With `purpose_key`, at most one message per key is ever recorded (a unique column), so
        calling this again — a duplicate webhook, a retried task — sends nothing new. Returns
        (message, created).
        """
        message, created = self.compose(purpose_key=purpose_key, **fields)
        if created:
            transaction.on_commit(lambda: email_message_send_task.delay(message.pk), robust=True)
        return message, created

    def compose(
        self,
        *,
        to: str | Sequence[str],
        subject: str = "",
        text: str = "",
        html: str = "",
        template_id: str = "",
        data: Mapping[str, Any] | None = None,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        from_email: str | None = None,
        reply_to: str | Sequence[str] | None = None,
        attachments: Sequence[EmailAttachment] = (),
        categories: Sequence[str] = (),
        custom_args: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        send_at: int | None = None,
        sandbox_mode: bool = False,
        purpose_key: str | None = None,
        last_error: str = "",
    ) -> tuple[EmailMessage, bool]:
        """Record a message (status queued) without sending it.

        The `reply_to` column keeps the first address; `request["reply_to_list"]` keeps all.
        """
        reply_to_list = _addresses(reply_to)
        request: dict[str, Any] = {
            "text": text,
            "html": html,
            "template_data": dict(data or {}),
            "categories": list(categories),
            "custom_args": dict(custom_args or {}),
            "reply_to_list": reply_to_list,
            "headers": {str(key): str(value) for key, value in (headers or {}).items()},
            "send_at": int(send_at) if send_at is not None else None,
            "sandbox_mode": bool(sandbox_mode),
            "attachments": [
                {
                    "filename": item.filename,
                    "content": base64.b64encode(item.content).decode("ascii"),
                    "type": item.mimetype,
                    "disposition": item.disposition,
                    "content_id": item.content_id,
                }
                for item in attachments
            ],
        }
        fields = {
            "to": _addresses(to),
            "cc": _addresses(cc),
            "bcc": _addresses(bcc),
            "from_email": from_email or conf.default_from_email(),
            "reply_to": reply_to_list[0] if reply_to_list else "",
            "subject": subject,
            "template_id": template_id,
            "request": request,
            "last_error": last_error,
        }
        if purpose_key is None:
            return EmailMessage.objects.create(**fields), True
        existing = EmailMessage.objects.filter(purpose_key=purpose_key).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                return EmailMessage.objects.create(purpose_key=purpose_key, **fields), True
        except IntegrityError:
            return EmailMessage.objects.get(purpose_key=purpose_key), False

    def deliver(
        self, message: EmailMessage, *, keep_queued_on_retryable: bool = False
    ) -> EmailMessage:
        """Send a queued message once. Another process that already claimed it wins."""
        claimed = EmailMessage.objects.filter(
            pk=message.pk, status=EmailMessage.Status.QUEUED, attempts=message.attempts
        ).update(attempts=F("attempts") + 1)
        message.refresh_from_db()
        if not claimed:
            return message
        if not message.to:
            self._record_failure(message, "No recipient address.", retryable=False, keep=False)
            raise EmailNotSendable("The message has no recipient.", service=SERVICE)
        if not conf.sendgrid_api_key():
            return self._deliver_to_console(message)
        # The setting forces the sandbox for every message; a message can only add it.
        sandbox = conf.sendgrid_sandbox_mode() or bool((message.request or {}).get("sandbox_mode"))
        body = build_mail(message, sandbox=sandbox).get()
        try:
            response = ServiceClient(SERVICE).request(
                "POST",
                MAIL_SEND_PATH,
                json=body,
                headers={"Authorization": f"Bearer {conf.sendgrid_api_key()}"},
                # SendGrid ignores the header; it lets the client retry a POST that got a
                # 5xx / connection error (SendGrid accepted nothing in those cases).
                idempotency_key=f"liaison-email-{message.pk}-{message.attempts}",
            )
        except IntegrationError as exc:
            self._record_failure(
                message, _describe(exc), retryable=exc.retryable, keep=keep_queued_on_retryable
            )
            raise
        message.sg_message_id = response.headers.get("X-Message-Id", "")
        message.transport = (
            EmailMessage.Transport.SANDBOX if sandbox else EmailMessage.Transport.SENDGRID
        )
        message.status = EmailMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.timeline = [*message.timeline, {"event": "accepted", "at": _now_epoch()}]
        message.save()
        logger.info(
            "email_sent",
            extra={
                "email_message_id": message.pk,
                "sg_message_id": message.sg_message_id,
                "sandbox": sandbox,
            },
        )
        return message

    def resend(self, message: EmailMessage) -> EmailMessage:
        """Send the same content again as a new message (the original keeps its history)."""
        copy = EmailMessage.objects.create(
            to=message.to,
            cc=message.cc,
            bcc=message.bcc,
            from_email=message.from_email,
            reply_to=message.reply_to,
            subject=message.subject,
            template_id=message.template_id,
            request=message.request,
            timeline=[{"event": "resend_of", "at": _now_epoch(), "message": message.pk}],
        )
        return self.deliver(copy)

    # --- internals ---------------------------------------------------------------------------

    def _deliver_to_console(self, message: EmailMessage) -> EmailMessage:
        note = "SENDGRID_API_KEY is not set: this message was NOT sent; nothing left this machine."
        stream = self.stream or sys.stdout
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
        stream.write(redact_text("\n".join(lines)) + "\n")
        stream.flush()
        message.transport = EmailMessage.Transport.CONSOLE
        # Recorded and printed, never handed to SendGrid: not "sent", and no `sent_at`.
        message.status = EmailMessage.Status.CONSOLE
        message.timeline = [
            *message.timeline,
            {"event": "console", "at": _now_epoch(), "note": note},
        ]
        message.save()
        logger.warning("email_console_only", extra={"email_message_id": message.pk})
        return message

    def _record_failure(
        self, message: EmailMessage, error: str, *, retryable: bool, keep: bool
    ) -> None:
        message.last_error = error
        message.status = (
            EmailMessage.Status.QUEUED if (retryable and keep) else EmailMessage.Status.FAILED
        )
        message.timeline = [
            *message.timeline,
            {"event": "send_failed", "at": _now_epoch(), "retryable": retryable},
        ]
        message.save()
        logger.warning(
            "email_send_failed", extra={"email_message_id": message.pk, "retryable": retryable}
        )


EmailService = SendGridEmailService


def build_mail(message: EmailMessage, *, sandbox: bool = False) -> Mail:
    """The SendGrid `Mail` for a recorded message."""
    request = message.request or {}
    mail = Mail(from_email=From(message.from_email))
    if message.subject:
        mail.subject = message.subject
    personalization = Personalization()
    for address in message.to:
        personalization.add_to(To(address))
    for address in message.cc:
        personalization.add_cc(Cc(address))
    for address in message.bcc:
        personalization.add_bcc(Bcc(address))
    if message.template_id:
        mail.template_id = TemplateId(message.template_id)
        personalization.dynamic_template_data = request.get("template_data") or {}
    mail.add_personalization(personalization)
    if not message.template_id:
        if request.get("text"):
            mail.add_content(request["text"], "text/plain")
        if request.get("html"):
            mail.add_content(request["html"], "text/html")
    reply_to = request.get("reply_to_list") or ([message.reply_to] if message.reply_to else [])
    if len(reply_to) > 1:  # SendGrid takes either `reply_to` or `reply_to_list`, not both
        mail.reply_to_list = [ReplyTo(address) for address in reply_to]
    elif reply_to:
        mail.reply_to = ReplyTo(reply_to[0])
    for name, value in (request.get("headers") or {}).items():
        mail.add_header(Header(name, value))
    if request.get("send_at") is not None:
        mail.send_at = SendAt(int(request["send_at"]))
    for item in request.get("attachments") or []:
        attachment = Attachment(
            FileContent(item["content"]),
            FileName(item["filename"]),
            FileType(item["type"]),
            Disposition(item.get("disposition") or "attachment"),
        )
        if item.get("content_id"):
            attachment.content_id = ContentId(item["content_id"])
        mail.add_attachment(attachment)
    for category in request.get("categories") or []:
        mail.add_category(Category(category))
    custom_args = {**(request.get("custom_args") or {}), MESSAGE_ID_ARG: str(message.pk)}
    for key, value in custom_args.items():
        mail.add_custom_arg(CustomArg(key, str(value)))
    if sandbox:
        mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
    return mail


def _describe(exc: IntegrationError) -> str:
    text = f"{type(exc).__name__} (status {exc.status})"
    if isinstance(exc, ClientError) and isinstance(exc.payload, dict):
        errors = exc.payload.get("errors") or []
        messages = [str(e.get("message")) for e in errors if isinstance(e, dict)]
        if messages:
            text += ": " + "; ".join(messages)
    return text


def _now_epoch() -> int:
    return int(timezone.now().timestamp())


# --- SendGrid events -------------------------------------------------------------------------

_EVENT_STATUS = {
    "processed": EmailMessage.Status.SENT,
    "deferred": EmailMessage.Status.DEFERRED,
    "delivered": EmailMessage.Status.DELIVERED,
    "open": EmailMessage.Status.OPENED,
    "click": EmailMessage.Status.CLICKED,
    "bounce": EmailMessage.Status.BOUNCED,
    "dropped": EmailMessage.Status.DROPPED,
    "spamreport": EmailMessage.Status.SPAM_REPORT,
    "unsubscribe": EmailMessage.Status.UNSUBSCRIBED,
    "group_unsubscribe": EmailMessage.Status.UNSUBSCRIBED,
}
# The names `email_status_changed` reports (SendGrid's own names, made readable and stable).
EVENT_NAMES: dict[str, str] = {
    "processed": "processed",
    "deferred": "deferred",
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "dropped",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "group_resubscribe": "resubscribed",
}
# A status only moves forward: a late `processed` never overwrites `delivered`.
_STATUS_RANK: dict[str, int] = {
    EmailMessage.Status.QUEUED: 0,
    EmailMessage.Status.FAILED: 0,
    # Never given to SendGrid; `email_event_apply` does not move it (see there).
    EmailMessage.Status.CONSOLE: 0,
    EmailMessage.Status.SENT: 1,
    EmailMessage.Status.DEFERRED: 2,
    EmailMessage.Status.DELIVERED: 3,
    EmailMessage.Status.BOUNCED: 4,
    EmailMessage.Status.DROPPED: 4,
    EmailMessage.Status.OPENED: 5,
    EmailMessage.Status.CLICKED: 6,
    EmailMessage.Status.UNSUBSCRIBED: 7,
    EmailMessage.Status.SPAM_REPORT: 8,
}
# Event fields worth keeping in the timeline (no addresses, no URLs, no IPs).
_TIMELINE_FIELDS = (
    "reason",
    "type",
    "bounce_classification",
    "attempt",
    "status",
    "asm_group_id",
)
# On a `group_unsubscribe` entry: the status it replaced, restored by `group_resubscribe`.
STATUS_BEFORE = "status_before"
_SG_MESSAGE_ID_MAX = EmailMessage._meta.get_field("sg_message_id").max_length or 0


def base_message_id(sg_message_id: str) -> str:
    """The X-Message-Id part of an event's sg_message_id (SendGrid appends `.filter…`)."""
    return sg_message_id.split(".filter", 1)[0]


def email_event_apply(event: Mapping[str, Any]) -> bool:
    """Apply one SendGrid event to its message. True when it changed something.

    A status only moves forward, with one exception: `group_resubscribe` undoes a group
    unsubscribe, restoring the status the message had reached (signal event "resubscribed").
    A console-only message (transport `console`) keeps its status: SendGrid never had it.

    Idempotent by `sg_event_id`; events for messages Liaison did not send are ignored. The
    event's strings are expected database-safe (`WebhookEvent.payload` strips NUL and lone
    surrogates); the reason is kept to 2,000 characters.
    """
    sg_event_id = str(event.get("sg_event_id") or "")
    name = str(event.get("event") or "")
    message_id = base_message_id(str(event.get("sg_message_id") or ""))
    with transaction.atomic():
        query = EmailMessage.objects.select_for_update()
        message = query.filter(sg_message_id=message_id).first() if message_id else None
        if message is None and str(event.get(MESSAGE_ID_ARG) or "").isdigit():
            message = query.filter(pk=int(event[MESSAGE_ID_ARG])).first()
        if message is None:
            logger.info("sendgrid_event_unmatched", extra={"event": name})
            return False
        if sg_event_id and any(e.get("sg_event_id") == sg_event_id for e in message.timeline):
            return False
        entry: dict[str, Any] = {"event": name, "at": event.get("timestamp")}
        if sg_event_id:
            entry["sg_event_id"] = sg_event_id
        entry.update({key: event[key] for key in _TIMELINE_FIELDS if event.get(key) is not None})
        timeline = [*message.timeline, entry]
        timeline.sort(key=lambda e: e.get("at") if isinstance(e.get("at"), int | float) else 0)
        message.timeline = timeline
        if message_id and not message.sg_message_id and len(message_id) <= _SG_MESSAGE_ID_MAX:
            # An id that does not fit is not an X-Message-Id SendGrid issued: not kept.
            message.sg_message_id = message_id
        previous_status = message.status
        if message.transport == EmailMessage.Transport.CONSOLE:
            new_status = None  # SendGrid never had it: an event cannot make it "sent"
        elif name == "group_resubscribe":
            new_status = _status_after_group_resubscribe(message, entry)
        elif name == "group_unsubscribe" and _resubscribed_later(message, entry):
            new_status = None  # arrived after the resubscribe that undid it
        else:
            new_status = _EVENT_STATUS.get(name)
        if name == "group_resubscribe" and new_status is not None:
            message.status = new_status  # the one change that moves a status back
        elif new_status is not None and _STATUS_RANK[new_status] >= _STATUS_RANK[message.status]:
            if name == "group_unsubscribe" and message.status != new_status:
                entry[STATUS_BEFORE] = message.status
            message.status = new_status
        if name in ("bounce", "dropped") and event.get("reason"):
            message.last_error = str(event["reason"])[:2000]
        message.save()
        if message.status != previous_status:
            email_status_changed.send(
                sender=EmailMessage,
                message=message,
                status=message.status,
                previous_status=previous_status,
                event=EVENT_NAMES[name],
            )
        return True


def _group_events(message: EmailMessage) -> list[dict[str, Any]]:
    """The timeline's group (un)subscribe entries, oldest first (the timeline is sorted)."""
    names = ("group_unsubscribe", "group_resubscribe")
    return [e for e in message.timeline if e.get("event") in names]


def _resubscribed_later(message: EmailMessage, entry: Mapping[str, Any]) -> bool:
    """A `group_resubscribe` at or after this unsubscribe is already in the timeline."""
    group = _group_events(message)
    return bool(group) and group[-1] is not entry and group[-1]["event"] == "group_resubscribe"


def _status_after_group_resubscribe(message: EmailMessage, entry: Mapping[str, Any]) -> str | None:
    """The status a `group_resubscribe` restores, or None when it changes nothing.

    Only an unsubscribe from the group is undone: a global `unsubscribe` (or a spam report)
    stands, and so does a group unsubscribe that happened after this resubscribe. The
    restored status is the furthest one the message had reached without unsubscribing: the
    status each group unsubscribe replaced, and the statuses of its other events.
    """
    if message.status != EmailMessage.Status.UNSUBSCRIBED:
        return None
    if any(e.get("event") == "unsubscribe" for e in message.timeline):
        return None
    group = _group_events(message)
    if not group or group[-1] is not entry:
        return None
    unsubscribed = _STATUS_RANK[EmailMessage.Status.UNSUBSCRIBED]
    reached = [str(e[STATUS_BEFORE]) for e in group if e.get(STATUS_BEFORE) in _STATUS_RANK]
    reached += [
        status
        for e in message.timeline
        if (status := _EVENT_STATUS.get(str(e.get("event")))) is not None
        and _STATUS_RANK[status] < unsubscribed
    ]
    if not reached:
        # A row recorded before `status_before` existed, with no other event: it was sent.
        return EmailMessage.Status.SENT
    return max(reached, key=lambda status: _STATUS_RANK[status])


def email_message_send(*, message_id: int, keep_queued_on_retryable: bool = False) -> EmailMessage:
    message = EmailMessage.objects.get(pk=message_id)
    return SendGridEmailService().deliver(
        message, keep_queued_on_retryable=keep_queued_on_retryable
    )


def email_message_resend(*, message: EmailMessage) -> EmailMessage:
    return SendGridEmailService().resend(message)
