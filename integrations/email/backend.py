"""Django email backend: `EMAIL_BACKEND = "integrations.email.backend.SendGridBackend"`.

`send_mail`, `mail_admins`, `EmailMessage` and `EmailMultiAlternatives` (HTML alternative,
attachments, inline images with Content-ID) go through `SendGridEmailService`, so every one is
recorded as an `integrations.EmailMessage` and follows the resilient path — or is printed to the
console when SENDGRID_API_KEY is not set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.mime.base import MIMEBase
from typing import Any

from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from integrations.core.exceptions import IntegrationError
from integrations.email.services import EmailAttachment, SendGridEmailService

logger = logging.getLogger(__name__)


class SendGridBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.service = SendGridEmailService(stream=kwargs.get("stream"))

    def send_messages(self, email_messages: Sequence[DjangoEmailMessage]) -> int:
        sent = 0
        for email in email_messages:
            if not email.recipients():
                continue
            try:
                self.service.send(**message_fields(email))
            except IntegrationError:
                if not self.fail_silently:
                    raise
                logger.warning("email_backend_send_failed")
                continue
            sent += 1
        return sent


def message_fields(email: DjangoEmailMessage) -> dict[str, Any]:
    """`SendGridEmailService.send` keyword arguments for a Django message."""
    html = ""
    alternatives = getattr(email, "alternatives", None) or []
    for alternative in alternatives:
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html":
            html = str(content)
    text = str(email.body or "")
    if email.content_subtype == "html":
        html, text = text, ""
    return {
        "to": list(email.to),
        "cc": list(email.cc),
        "bcc": list(email.bcc),
        "subject": str(email.subject),
        "text": text,
        "html": html,
        "from_email": email.from_email or None,
        "reply_to": email.reply_to[0] if email.reply_to else None,
        "attachments": [_attachment(item) for item in email.attachments],
    }


def _attachment(item: Any) -> EmailAttachment:
    if isinstance(item, MIMEBase):
        payload = item.get_payload(decode=True)
        content_id = (item.get("Content-ID") or "").strip("<>")
        return EmailAttachment(
            filename=item.get_filename() or "attachment",
            content=payload if isinstance(payload, bytes) else b"",
            mimetype=item.get_content_type(),
            disposition="inline" if content_id else "attachment",
            content_id=content_id,
        )
    filename, content, mimetype = item[0], item[1], item[2]
    if isinstance(content, str):
        content = content.encode("utf-8")
    return EmailAttachment(
        filename=filename or "attachment",
        content=content,
        mimetype=mimetype or "application/octet-stream",
    )
