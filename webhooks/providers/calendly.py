"""Calendly webhooks (Calendly API v2 webhook subscriptions).

Signing scheme: https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures —
header `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, the hex HMAC-SHA256 of
`"<t>.<raw body>"` keyed with the `signing_key` given when the subscription was created (we
generate it: `shared_secret`). The timestamp is checked against the endpoint's tolerance in
both directions (Calendly suggests 3 minutes; 300 s unless the endpoint says otherwise).

Delivery and rate limits: https://developer.calendly.com/api-docs/ZG9jOjM2MzE2MDM4-webhook-subscriptions
— Calendly expects a 2xx, retries failed deliveries with exponential backoff for 24 hours, and
disables a subscription that keeps failing; API calls are rate limited per user (HTTP 429).

Calendly payloads carry no delivery id: the event id is `<event>:<payload.uri>` (the invitee
or routing-form submission the event is about — an `invitee.created` and an
`invitee.canceled` of one invitee are two events, a retry keeps its id), type = `event`
(`invitee.created`, …), occurred_at = `created_at`. Samples: `webhooks/samples/calendly/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    json_object,
    required_text,
)
from webhooks.providers.hmac_base import HmacSignedProvider, field_at, moment_or_none


class CalendlyWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "calendly"
    name: ClassVar[str] = "Calendly"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    signature_header: ClassVar[str] = "Calendly-Webhook-Signature"
    signature_separator: ClassVar[str] = ","
    signature_key: ClassVar[str] = "v1"
    timestamp_element: ClassVar[str] = "t"
    signed_content: ClassVar[str] = "{timestamp}.{body}"
    default_event_type: ClassVar[str] = "invitee.created"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "Calendly"}

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        event_type = required_text(payload, "event", what="event type (`event`)")
        subject = field_at(payload, "payload.uri")
        if not isinstance(subject, str) or not subject:
            raise MalformedPayload("The payload has no `payload.uri`.")
        return [
            ParsedEvent(
                event_id=f"{event_type}:{subject}",
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=moment_or_none(payload.get("created_at")),
            )
        ]
