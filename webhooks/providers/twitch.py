"""Twitch EventSub webhooks (EventSub, subscription versions as each type documents).

Signing scheme: https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message
— headers `Twitch-Eventsub-Message-Id`, `Twitch-Eventsub-Message-Timestamp` (RFC 3339 with
nanoseconds) and `Twitch-Eventsub-Message-Signature: sha256=<hex>`, the hex HMAC-SHA256 of
`id + timestamp + raw body` keyed with the secret given when subscribing (10 to 100 characters;
we generate it). A timestamp more than 10 minutes away, past or future, is refused, as Twitch
recommends; the message id is the event id, so a resent message is stored once.

Message types (`Twitch-Eventsub-Message-Type`):

- `notification`: type = `Twitch-Eventsub-Subscription-Type` (`channel.follow`, …), else the
  body's `subscription.type`.
- `webhook_callback_verification`: type `webhook_callback_verification`; answered with the
  body's `challenge`, raw, as `text/plain` 200 (after verification, like Slack's challenge).
- `revocation`: type `revocation` (the body's `subscription.status` says why) — recorded so a
  handler or an operator sees that Twitch stopped the subscription.

Delivery and rate limits: https://dev.twitch.tv/docs/eventsub/ — Twitch expects a 2xx within a
few seconds, resends when unsure (same message id), and revokes a subscription that fails too
often (`notification_failures_exceeded`); EventSub subscriptions are limited by cost
(`max_total_cost`, 10,000 by default). occurred_at = the message timestamp.
Samples: `webhooks/samples/twitch/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    ImmediateResponse,
    IncomingDelivery,
    ParsedEvent,
    json_object,
    required_event_header,
)
from webhooks.providers.hmac_base import HmacSignedProvider, SampleDelivery, field_at

MESSAGE_ID_HEADER = "Twitch-Eventsub-Message-Id"
MESSAGE_TYPE_HEADER = "Twitch-Eventsub-Message-Type"
TIMESTAMP_HEADER = "Twitch-Eventsub-Message-Timestamp"
SUBSCRIPTION_TYPE_HEADER = "Twitch-Eventsub-Subscription-Type"
VERIFICATION = "webhook_callback_verification"
REVOCATION = "revocation"
NOTIFICATION = "notification"


class TwitchWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "twitch"
    name: ClassVar[str] = "Twitch EventSub"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "twitch-eventsub-message-id",
        "twitch-eventsub-message-type",
        "twitch-eventsub-message-timestamp",
        "twitch-eventsub-message-retry",
        "twitch-eventsub-subscription-type",
        "twitch-eventsub-subscription-version",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = "Twitch-Eventsub-Message-Signature"
    signature_prefix: ClassVar[str] = "sha256="
    signed_id_header: ClassVar[str] = MESSAGE_ID_HEADER
    timestamp_header: ClassVar[str] = TIMESTAMP_HEADER
    timestamp_format: ClassVar[str] = "rfc3339"
    tolerance_seconds: ClassVar[int | None] = 600
    signed_content: ClassVar[str] = "{id}{timestamp}{body}"
    default_event_type: ClassVar[str] = "channel.follow"
    test_headers: ClassVar[Mapping[str, str]] = {
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Subscription-Version": "2",
        "User-Agent": "Twitch-Eventsub-Webhooks/1.0",
    }

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        message_id = required_event_header(delivery, MESSAGE_ID_HEADER)
        message_type = required_event_header(delivery, MESSAGE_TYPE_HEADER)
        payload = json_object(delivery.body)
        if message_type == NOTIFICATION:
            event_type = delivery.headers.get(SUBSCRIPTION_TYPE_HEADER, "").strip()
            event_type = event_type or str(field_at(payload, "subscription.type") or "")
        elif message_type in (VERIFICATION, REVOCATION):
            event_type = message_type
        else:
            raise MalformedPayload("The Twitch-Eventsub-Message-Type is not one Twitch sends.")
        if message_type == VERIFICATION and not isinstance(payload.get("challenge"), str):
            raise MalformedPayload("The verification message has no `challenge`.")
        moment = signing.parse_timestamp_as(
            delivery.headers.get(TIMESTAMP_HEADER, ""), unit="rfc3339", header=TIMESTAMP_HEADER
        )
        return [ParsedEvent(message_id, event_type, delivery.body, payload, moment)]

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        if len(events) == 1 and events[0].event_type == VERIFICATION:
            challenge = str(events[0].payload["challenge"])
            return ImmediateResponse(
                status=200, body=challenge.encode("utf-8"), content_type="text/plain"
            )
        return None

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        event_type = sample.event_type or self.default_event_type
        headers = dict(self.test_headers)
        if event_type in (VERIFICATION, REVOCATION):
            headers[MESSAGE_TYPE_HEADER] = event_type
            headers[SUBSCRIPTION_TYPE_HEADER] = self.default_event_type
        else:
            headers[MESSAGE_TYPE_HEADER] = NOTIFICATION
            headers[SUBSCRIPTION_TYPE_HEADER] = event_type
        return headers
