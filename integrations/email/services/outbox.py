"""Email after a state change: recorded with it, sent by the outbox relay, once in effect.

`email_message_enqueue` records the message and an outbox row (`email.send`, key
`email.send:<message id>`) in the caller's transaction. The relay runs `email_send_action`:

- a message no longer sendable (sent, console, failed for good) is done;
- a message `sending` means an earlier attempt started the POST and recorded no outcome (its
  worker died, the database failed after SendGrid accepted, or the read timed out). Sending
  again at once would mail the customer twice whenever SendGrid had accepted, so the action
  waits until `SENDGRID_PROCESSED_WAIT_SECONDS` after that attempt began for SendGrid's
  `processed` event, which `email_event_apply` matches by `liaison_message_id` and which
  marks the message sent and the outbox row done. Only past that bound does it send again;
- otherwise it sends (`email_message_deliver`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from integrations.email import conf
from integrations.email.exceptions import EmailAlreadyAccepted, EmailNotSendable
from integrations.email.models import EmailMessage
from integrations.email.services.compose import EmailAttachment, email_message_compose
from integrations.email.services.send import (
    SENDABLE,
    TextStream,
    email_message_deliver,
    now_epoch,
)
from integrations.outbox.registry import ActionWait, outbox_action_register
from integrations.outbox.services import outbox_enqueue, outbox_item_perform

if TYPE_CHECKING:
    from integrations.outbox.models import OutboxItem

logger = logging.getLogger(__name__)

ACTION = "email.send"
Status = EmailMessage.Status
# Statuses a staff "resend" takes without `force`: SendGrid never accepted these.
RESENDABLE = (Status.FAILED, Status.CONSOLE)
# Between two looks at a message waiting for its `processed` event.
WAIT_STEP_SECONDS = 30.0


def email_outbox_key(*, message_id: int) -> str:
    return f"{ACTION}:{message_id}"


def email_message_enqueue(
    *,
    to: str | Sequence[str],
    purpose_key: str | None = None,
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
    last_error: str = "",
) -> tuple[EmailMessage, bool]:
    """Record a message and its outbox row in the caller's transaction; (message, created).

    With `purpose_key`, at most one message per key is ever recorded, so calling this again —
    a duplicate webhook, a retried handler — sends nothing new. Sent by the relay after commit.
    """
    message, created = email_message_compose(
        to=to,
        purpose_key=purpose_key,
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
        last_error=last_error,
    )
    if created:
        outbox_enqueue(
            purpose_key=email_outbox_key(message_id=message.pk),
            action=ACTION,
            payload={"message_id": message.pk},
        )
    return message, created


def email_send_action(item: OutboxItem) -> ActionWait | None:
    """The outbox action `email.send` (module docstring)."""
    message = EmailMessage.objects.filter(pk=int(item.payload["message_id"])).first()
    if message is None or message.status not in SENDABLE:
        return None
    if message.status == Status.SENDING and message.send_started_at is not None:
        deadline = message.send_started_at + timedelta(seconds=conf.processed_wait_seconds())
        remaining = (deadline - timezone.now()).total_seconds()
        if remaining > 0:
            return ActionWait(
                seconds=min(remaining, WAIT_STEP_SECONDS),
                reason="Waiting for SendGrid's processed event of an unconfirmed send.",
            )
        logger.warning(
            "email_resend_after_unconfirmed_send", extra={"email_message_id": message.pk}
        )
    try:
        email_message_deliver(message=message, keep_queued=True)
    except EmailNotSendable:
        return None  # recorded on the message (failed, with the reason): nothing to retry
    return None


def email_message_send_queued(*, message_id: int) -> None:
    """Have a queued message sent through the outbox (a send task queued before the outbox)."""
    key = email_outbox_key(message_id=message_id)
    item = outbox_enqueue(purpose_key=key, action=ACTION, payload={"message_id": message_id})
    outbox_item_perform(item_pk=item.pk)


def email_message_resend(
    *, message: EmailMessage, force: bool = False, stream: TextStream | None = None
) -> EmailMessage:
    """Send the same content again as a new message (the original keeps its history).

    Refused (`EmailAlreadyAccepted`) when SendGrid accepted the original, or may have (it is
    queued or sending), unless `force`: the customer would get it twice.
    """
    if message.status not in RESENDABLE and not force:
        raise EmailAlreadyAccepted(
            f"Message #{message.pk} is {message.status}: SendGrid has (or may have) it already."
        )
    copy = EmailMessage.objects.create(
        to=message.to,
        cc=message.cc,
        bcc=message.bcc,
        from_email=message.from_email,
        reply_to=message.reply_to,
        subject=message.subject,
        template_id=message.template_id,
        request=message.request,
        timeline=[
            {"event": "resend_of", "at": now_epoch(), "message": message.pk, "forced": force}
        ],
    )
    return email_message_deliver(message=copy, stream=stream)


def register() -> None:
    outbox_action_register(ACTION, email_send_action)
