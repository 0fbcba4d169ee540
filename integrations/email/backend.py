"""Django email backend: `EMAIL_BACKEND = "integrations.email.backend.SendGridBackend"`.

`send_mail`, `mail_admins`, `EmailMessage` and `EmailMultiAlternatives` (HTML alternative,
attachments, inline images with Content-ID) go through `email_message_send`, so every one is
recorded as an `integrations.EmailMessage` and follows the resilient path — or is printed to the
console when SENDGRID_API_KEY is not set (status `console`: recorded, not sent).

What a Django message carries reaches SendGrid's v3 request:

- `extra_headers` → `headers` (a `Reply-To` header there replaces `reply_to`, as Django's own
  backends do; the other headers SendGrid reserves — From, To, Cc, Bcc, Subject, Content-Type,
  Content-Transfer-Encoding, DKIM-Signature, Received, X-SG-ID, X-SG-EID — raise `ValueError`,
  which SendGrid would otherwise answer with a 400);
- every `reply_to` address: one → `reply_to`, several → `reply_to_list`.

SendGrid features Django has no field for go in `message.esp_extra`, a dict with these keys
(all optional; any other key raises `ValueError`):

- `"categories"`: list of str → `categories` (SendGrid's tags, echoed in every event);
- `"custom_args"`: dict of str → str → `custom_args` (metadata, echoed in every event; the
  key `liaison_message_id` is Liaison's own and always set);
- `"template_id"`: str → `template_id` (a dynamic template: `body` is then ignored);
- `"dynamic_template_data"`: dict → the personalization's `dynamic_template_data`;
- `"send_at"`: int Unix timestamp (or an aware `datetime`) → `send_at` (at most 72 hours
  ahead, SendGrid's limit);
- `"sandbox_mode"`: bool → `mail_settings.sandbox_mode` (validated by SendGrid, not
  delivered; the message is recorded with transport `sandbox`). SENDGRID_SANDBOX_MODE, when
  on, applies to every message whatever this says.

    email = EmailMessage("Hi", "Body", to=["a@example.com"], reply_to=["x@example.com",
                         "y@example.com"], headers={"X-Order": "ORD-1"})
    email.esp_extra = {"categories": ["receipt"], "custom_args": {"order": "ORD-1"}}
    email.send()
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.mime.base import MIMEBase
from email.utils import getaddresses
from typing import Any

from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from integrations.core.exceptions import IntegrationError
from integrations.email.services import EmailAttachment, email_message_send

logger = logging.getLogger(__name__)


class SendGridBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.stream = kwargs.get("stream")

    def send_messages(self, email_messages: Sequence[DjangoEmailMessage]) -> int:
        sent = 0
        for email in email_messages:
            if not email.recipients():
                continue
            try:
                email_message_send(**message_fields(email), stream=self.stream)
            except IntegrationError:
                if not self.fail_silently:
                    raise
                logger.warning("email_backend_send_failed")
                continue
            sent += 1
        return sent


ESP_EXTRA_KEYS = frozenset(
    {
        "categories",
        "custom_args",
        "template_id",
        "dynamic_template_data",
        "send_at",
        "sandbox_mode",
    }
)
# Headers SendGrid rejects in `headers` (it sets them itself, from the request's fields).
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "content-type",
        "content-transfer-encoding",
        "dkim-signature",
        "received",
        "x-sg-id",
        "x-sg-eid",
    }
)


def message_fields(email: DjangoEmailMessage) -> dict[str, Any]:
    """`email_message_send` keyword arguments for a Django message."""
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
        "attachments": [_attachment(item) for item in email.attachments],
        **_header_fields(email),
        **_esp_extra_fields(getattr(email, "esp_extra", None)),
    }


def _header_fields(email: DjangoEmailMessage) -> dict[str, Any]:
    """`headers` and `reply_to` from `extra_headers` and `reply_to`."""
    headers: dict[str, str] = {}
    reply_to = [str(address) for address in email.reply_to]
    for name, value in (email.extra_headers or {}).items():
        key = str(name).lower()
        if key == "reply-to":
            reply_to = [
                f"{display} <{address}>" if display else address
                for display, address in getaddresses([str(value)])
                if address
            ]
        elif key in RESERVED_HEADERS:
            raise ValueError(
                f"SendGrid does not accept the {name!r} header in extra_headers; "
                "use the message's own field for it."
            )
        else:
            headers[str(name)] = str(value)
    return {"headers": headers, "reply_to": reply_to}


def _esp_extra_fields(esp_extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """`send` keyword arguments from `message.esp_extra` (keys in the module docstring)."""
    if not esp_extra:
        return {}
    unknown = set(esp_extra) - ESP_EXTRA_KEYS
    if unknown:
        raise ValueError(
            f"Unknown esp_extra key(s) {sorted(unknown)}; expected some of "
            f"{sorted(ESP_EXTRA_KEYS)}."
        )
    fields: dict[str, Any] = {}
    if "categories" in esp_extra:
        categories = esp_extra["categories"]
        fields["categories"] = [categories] if isinstance(categories, str) else list(categories)
    if "custom_args" in esp_extra:
        fields["custom_args"] = {str(k): str(v) for k, v in esp_extra["custom_args"].items()}
    if esp_extra.get("template_id"):
        fields["template_id"] = str(esp_extra["template_id"])
    if "dynamic_template_data" in esp_extra:
        fields["data"] = dict(esp_extra["dynamic_template_data"] or {})
    if esp_extra.get("send_at") is not None:
        send_at = esp_extra["send_at"]
        if isinstance(send_at, datetime):
            if send_at.tzinfo is None:
                raise ValueError("esp_extra['send_at'] must be timezone-aware.")
            send_at = send_at.timestamp()
        if isinstance(send_at, bool) or not isinstance(send_at, int | float):
            raise ValueError("esp_extra['send_at'] is a Unix timestamp or an aware datetime.")
        fields["send_at"] = int(send_at)
    if "sandbox_mode" in esp_extra:
        fields["sandbox_mode"] = bool(esp_extra["sandbox_mode"])
    return fields


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
