"""Zoom webhooks (Zoom API v2 event notifications).

Signing scheme: https://developers.zoom.us/docs/api/webhooks/#verify-with-zooms-header —
headers `x-zm-request-timestamp: <unix>` and `x-zm-signature: v0=<hex>`, the hex
HMAC-SHA256 of `"v0:<timestamp>:<raw body>"` keyed with the app's webhook secret token. The
timestamp is checked against the endpoint's tolerance in both directions.

URL validation (https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint):
Zoom posts `{"event": "endpoint.url_validation", "payload": {"plainToken": …}}` (signed like
any event) when the endpoint is saved and every 72 hours; the answer is a 200 with
`{"plainToken": …, "encryptedToken": hex(HMAC-SHA256(secret token, plainToken))}`, computed
with the newest active secret. The validation is stored as an event of type
`endpoint.url_validation` like Slack's `url_verification`.

Delivery and rate limits: https://developers.zoom.us/docs/api/webhooks/#notification-delivery
and https://developers.zoom.us/docs/api/rate-limits/ — Zoom expects a 200 or 204 within 3 s,
retries 3 times (5 min, 30 min, 90 min); API calls are limited per account plan (Light,
Medium, Heavy rate-limit types).

Zoom payloads carry no delivery id: the event id is `<event_ts>:<sha256 of the body>` (a
retry repeats both, two events never share both). Type = `event` (`meeting.started`, …),
occurred_at = `event_ts` (epoch milliseconds). Samples: `webhooks/samples/zoom/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    ImmediateResponse,
    IncomingDelivery,
    ParsedEvent,
    json_object,
    required_text,
    scaled_epoch_or_none,
)
from webhooks.providers.hmac_base import HmacSignedProvider, field_at

URL_VALIDATION = "endpoint.url_validation"


@dataclass(frozen=True)
class ZoomUrlValidation(ParsedEvent):
    """The validation event with the answer Zoom expects (held in memory, never stored)."""

    reply: bytes = b""


class ZoomWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "zoom"
    name: ClassVar[str] = "Zoom"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-zm-request-timestamp",
        "x-zm-trackingid",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = "x-zm-signature"
    signature_prefix: ClassVar[str] = "v0="
    timestamp_header: ClassVar[str] = "x-zm-request-timestamp"
    signed_content: ClassVar[str] = "v0:{timestamp}:{body}"
    default_event_type: ClassVar[str] = "meeting.started"
    test_headers: ClassVar[dict[str, str]] = {"User-Agent": "Zoom Marketplace/1.0a"}

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        event_type = required_text(payload, "event", what="event type (`event`)")
        occurred_at = scaled_epoch_or_none(payload.get("event_ts"))
        event_id = f"{payload.get('event_ts', '')}:{signing.sha256_hex(delivery.body)}"
        if event_type != URL_VALIDATION:
            return [ParsedEvent(event_id, event_type, delivery.body, payload, occurred_at)]
        plain_token = field_at(payload, "payload.plainToken")
        if not isinstance(plain_token, str) or not plain_token:
            raise MalformedPayload("The URL validation has no `payload.plainToken`.")
        secrets = secrets or EndpointSecrets()
        key = self._keys(secrets, self.signing_scheme(secrets))[0]
        encrypted = signing.bytes_to_hex(signing.hmac_digest(key, plain_token.encode("utf-8")))
        reply = json.dumps({"plainToken": plain_token, "encryptedToken": encrypted})
        return [
            ZoomUrlValidation(
                event_id, event_type, delivery.body, payload, occurred_at, reply.encode("utf-8")
            )
        ]

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        if len(events) == 1 and isinstance(events[0], ZoomUrlValidation):
            return ImmediateResponse(status=200, body=events[0].reply)
        return None
