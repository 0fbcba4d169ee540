"""HubSpot webhooks (Webhooks API v3 signatures, v1 app webhook subscriptions).

Signing scheme: https://developers.hubspot.com/docs/api/webhooks/validating-requests —
headers `X-HubSpot-Request-Timestamp` (epoch *milliseconds*) and `X-HubSpot-Signature-v3`, the
base64 HMAC-SHA256, keyed with the app's client secret, of `method + URI + raw body +
timestamp`, where URI is the full URL HubSpot called (scheme, host, path, query) with the
characters HubSpot percent-decodes (`%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B`)
decoded. A timestamp more than 5 minutes away (past or future) is refused, as HubSpot
requires. The URL is rebuilt from `WEBHOOKS_PUBLIC_BASE_URL` (`signs_url`).

Delivery and rate limits: https://developers.hubspot.com/docs/api/webhooks — HubSpot sends up
to 100 events per request (a JSON array), expects a response within 5 s, retries up to 10
times over 24 hours; API calls a handler makes are limited to 100 to 190 per 10 s per app.

A delivery is a batch, like SendGrid's: each array element becomes its own event with its
own stored body. HubSpot says `eventId` alone is not guaranteed unique, so the id is
`<portalId>:<subscriptionId>:<eventId>:<occurredAt>`; type = `subscriptionType`
(`contact.creation`, `deal.propertyChange`, …); occurred_at = `occurredAt` (ms).
Samples: `webhooks/samples/hubspot/` (one batch per type).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    json_payload,
    required_text,
    scaled_epoch_or_none,
)
from webhooks.providers.hmac_base import HmacScheme, HmacSignedProvider, SignedContent

# What HubSpot decodes in the URI before signing (its "validating requests" page).
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


class HubSpotWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "hubspot"
    name: ClassVar[str] = "HubSpot"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    signs_url: ClassVar[bool] = True
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-hubspot-request-timestamp",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = "X-HubSpot-Signature-v3"
    signature_encoding: ClassVar[str] = "base64"
    timestamp_header: ClassVar[str] = "X-HubSpot-Request-Timestamp"
    timestamp_format: ClassVar[str] = "ms"
    tolerance_seconds: ClassVar[int | None] = 300
    signed_content: ClassVar[str] = "{method}{url}{body}{timestamp}"
    default_event_type: ClassVar[str] = "contact.creation"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "HubSpot Connect 2.0"}

    def signed_message(self, content: SignedContent, scheme: HmacScheme) -> bytes:
        """The template over the URI as HubSpot signs it (some escapes decoded)."""
        uri = content.url
        for escaped, char in _DECODED.items():
            uri = uri.replace(escaped, char).replace(escaped.lower(), char)
        return super().signed_message(
            SignedContent(body=content.body, timestamp=content.timestamp, url=uri), scheme
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        batch = json_payload(delivery.body)
        if not isinstance(batch, list) or not batch:
            raise MalformedPayload("The body is not a non-empty JSON array of events.")
        return [_event(element) for element in batch]


def _event(element: Any) -> ParsedEvent:
    if not isinstance(element, dict):
        raise MalformedPayload("An element of the batch is not a JSON object.")
    parts = [
        required_text(element, key, what=f"`{key}`")
        for key in ("portalId", "subscriptionId", "eventId", "occurredAt")
    ]
    return ParsedEvent(
        event_id=":".join(parts),
        event_type=required_text(element, "subscriptionType", what="`subscriptionType`"),
        body=dump_json(element),
        payload=element,
        occurred_at=scaled_epoch_or_none(element.get("occurredAt")),
    )
