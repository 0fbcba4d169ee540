"""What SendGrid events do to `integrations.EmailMessage`.

One stored webhook event per element of SendGrid's batch; each is matched to its message by
`sg_message_id` (SendGrid appends `.filter…` to the X-Message-Id we stored) and applied once
per `sg_event_id`. Status only moves forward (a late `processed` never overwrites
`delivered`); every event lands in the message's timeline.

An event for a message still `sending` (its worker died after SendGrid accepted it, or the
database failed before the 202 was recorded) is matched by the `liaison_message_id` custom
argument and confirms the send: the message becomes sent and its outbox row done, so the
outbox relay, which waits `SENDGRID_PROCESSED_WAIT_SECONDS` for exactly this, never sends it
again (`integrations.email.services.events`).

Event reference: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.email.services import email_event_apply
from webhooks.exceptions import MalformedPayload
from webhooks.handlers import register

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent

EVENT_TYPES = (
    "processed",
    "deferred",
    "delivered",
    "open",
    "click",
    "bounce",
    "dropped",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
)


@register("sendgrid", *EVENT_TYPES)
def email_event(event: WebhookEvent) -> None:
    payload = event.payload
    if not isinstance(payload, dict):
        raise MalformedPayload("A SendGrid event must be a JSON object.")
    email_event_apply(payload)
