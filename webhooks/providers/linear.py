"""Linear webhooks (Linear GraphQL API, webhook payload version of 2025).

Signing scheme: https://linear.app/developers/webhooks#securing-webhooks — header
`Linear-Signature`, the hex HMAC-SHA256 of the raw body keyed with the webhook's signing
secret (shown when the webhook is created). The body's `webhookTimestamp` (epoch
*milliseconds*, inside the signed body) is checked against a 60-second window in both
directions, the window Linear's documentation and its SDK's `LinearWebhooks.verify` use.

Delivery and rate limits: https://linear.app/developers/webhooks and
https://linear.app/developers/rate-limiting — Linear expects a 200 within 5 s, retries after 1
minute, 1 hour and 6 hours, and disables a webhook that keeps failing; GraphQL API calls are
limited to 1,500 requests per hour per user (API key) with complexity limits.

Event id = `Linear-Delivery` (a UUID per delivery, the same on a retry). Event type = the
body's `type` (the entity: `Issue`, `Comment`, `Project`, …; the header `Linear-Event` says
the same); the `action` (`create`, `update`, `remove`) stays in the payload, so handlers
register per entity as with GitHub. occurred_at = `createdAt` (ISO 8601), else the webhook
timestamp. Samples: `webhooks/samples/linear/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks.providers.base import EndpointSecrets, IncomingDelivery, ParsedEvent
from webhooks.providers.hmac_base import HmacSignedProvider, moment_or_none


class LinearWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "linear"
    name: ClassVar[str] = "Linear"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "linear-delivery",
        "linear-event",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = "Linear-Signature"
    timestamp_field: ClassVar[str] = "webhookTimestamp"
    timestamp_format: ClassVar[str] = "ms"
    tolerance_seconds: ClassVar[int | None] = 60
    event_id_header: ClassVar[str] = "Linear-Delivery"
    event_type_field: ClassVar[str] = "type"
    occurred_at_field: ClassVar[str] = "createdAt"
    default_event_type: ClassVar[str] = "Issue"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "Linear-Webhook"}

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        [event] = super().parse(delivery, secrets)
        if event.occurred_at is not None:
            return [event]
        return [
            ParsedEvent(
                event_id=event.event_id,
                event_type=event.event_type,
                body=event.body,
                payload=event.payload,
                occurred_at=moment_or_none(event.payload.get("webhookTimestamp")),
            )
        ]
