"""Recording a message (`EmailMessage`, status queued) and building SendGrid's request for it.

Messages are built with the `sendgrid` package's helpers (`sendgrid.helpers.mail.Mail` →
`.get()`). Every message carries the custom argument `liaison_message_id` (its row id):
SendGrid echoes custom arguments in every event of the message, which is how a `processed`
event confirms a send whose outcome a dead worker never recorded.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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

from integrations.core.db import row_insert_if_absent
from integrations.email import conf
from integrations.email.models import EmailMessage

# Custom arg carrying our row id: SendGrid echoes custom args in every event of the message.
MESSAGE_ID_ARG = "liaison_message_id"


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


def email_message_compose(
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
    """Record a message (status queued) without sending it; (message, created).

    With `purpose_key`, at most one message per key is ever recorded (a unique column). The
    `reply_to` column keeps the first address; `request["reply_to_list"]` keeps all.
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
    # One statement for a new key, no savepoint; a recorded key (or a concurrent writer of
    # it, which the INSERT waits for) inserts nothing and the recorded message is returned.
    message = EmailMessage(purpose_key=purpose_key, **fields)
    if row_insert_if_absent(message, unique_field="purpose_key"):
        return message, True
    return EmailMessage.objects.get(purpose_key=purpose_key), False


def email_mail_build(*, message: EmailMessage, sandbox: bool = False) -> Mail:
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
