"""Applying SendGrid's event webhook to `EmailMessage` rows.

Events: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event

An event is matched by `sg_message_id` (SendGrid appends `.filter…` to the X-Message-Id we
stored) or, for a send whose 202 was never recorded, by the `liaison_message_id` custom
argument; applied once per `sg_event_id`; a status only moves forward. The first event of a
message still `queued` / `sending` is SendGrid's word that it accepted the message: the
message becomes sent and its outbox row done, so the relay never sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.email.models import EmailMessage
from integrations.email.services.compose import MESSAGE_ID_ARG
from integrations.email.services.outbox import email_outbox_key
from integrations.email.services.send import SENDABLE
from integrations.email.signals import email_event_received, email_status_changed
from integrations.outbox.services import outbox_item_settle

logger = logging.getLogger(__name__)

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
    EmailMessage.Status.SENDING: 0,
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
        if previous_status in SENDABLE and message.status not in SENDABLE:
            _confirm_accepted(message, event)
        if name in ("bounce", "dropped") and event.get("reason"):
            message.last_error = str(event["reason"])[:2000]
        message.save()
        if name in EVENT_NAMES:
            email_event_received.send(
                sender=EmailMessage,
                message=message,
                event=EVENT_NAMES[name],
                status=message.status,
                url=str(event["url"]) if name == "click" and event.get("url") else None,
            )
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


def _confirm_accepted(message: EmailMessage, event: Mapping[str, Any]) -> None:
    """SendGrid has the message (this event says so): sent, and its outbox row done."""
    if not message.transport:
        message.transport = EmailMessage.Transport.SENDGRID
    if message.sent_at is None:
        at = event.get("timestamp")
        message.sent_at = (
            datetime.fromtimestamp(at, tz=UTC) if isinstance(at, int | float) else timezone.now()
        )
    message.last_error = ""
    if outbox_item_settle(purpose_key=email_outbox_key(message_id=message.pk)):
        logger.info("email_send_confirmed_by_event", extra={"email_message_id": message.pk})
