"""Shopify webhooks (Admin API version 2025-07 payloads).

Signing scheme: https://shopify.dev/docs/apps/build/webhooks/verify-deliveries — header
`X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body keyed with the app's client
secret (or, for webhooks created in a store's admin, the signing key shown there). **No
timestamp is signed**, and neither `X-Shopify-Webhook-Id` nor `X-Shopify-Topic` is covered, so
`tolerance_seconds` does not apply and captured bytes replayed under a fresh webhook id verify
again (a replay that keeps the id is a duplicate and is stored once). New Shopify endpoints get
a 24-hour duplicate-body window (`WebhookEndpoint.duplicate_body_window_hours`): an identical
body within it is acknowledged and stored once. Shopify payloads carry `updated_at`, so two
genuine deliveries practically never share a body; an older replay is still accepted, so
handlers must stay idempotent. After a client-secret rotation Shopify may sign with the old
secret for up to an hour — keep both secrets active meanwhile.

Delivery and rate limits: https://shopify.dev/docs/apps/build/webhooks/delivery-structure and
https://shopify.dev/docs/api/usage/limits — Shopify expects a 2xx within 5 seconds, retries 8
times over 4 hours, then may remove the subscription; Admin API calls are rate limited per app
and store (REST: 2 requests/s leaky bucket of 40; GraphQL: cost-based, 100 points/s standard).

Event id = `X-Shopify-Webhook-Id`: the same on every retry of a delivery, which is what the
event log deduplicates on ("verify deliveries" page; Shopify's app libraries call it the
idempotency key). `X-Shopify-Event-Id` names the underlying event, shared by deliveries to
different subscriptions of it; it is kept in the stored headers. Event type =
`X-Shopify-Topic` (`orders/create`, …). occurred_at = `X-Shopify-Triggered-At` (ISO 8601).
Samples: `webhooks/samples/shopify/<resource>/<action>.json`.
"""

from __future__ import annotations

import time
import uuid
from typing import ClassVar

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    epoch_to_iso,
    iso_to_epoch,
    json_object,
    required_event_header,
)
from webhooks.providers.hmac_base import HmacSignedProvider, SampleDelivery
from webhooks.providers.samples import sample_event_types, sample_render

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TOPIC_HEADER = "X-Shopify-Topic"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
API_VERSION = "2025-07"
SAMPLE_SHOP = "liaison-sample.myshopify.com"
DEFAULT_EVENT_TYPE = "orders/create"


class ShopifyWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "shopify"
    name: ClassVar[str] = "Shopify"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-shopify-topic",
        "x-shopify-webhook-id",
        "x-shopify-event-id",
        "x-shopify-shop-domain",
        "x-shopify-api-version",
        "x-shopify-triggered-at",
        "x-shopify-sub-topic",
        "content-type",
    )

    signature_header: ClassVar[str] = SIGNATURE_HEADER
    signature_encoding: ClassVar[str] = "base64"
    default_event_type: ClassVar[str] = DEFAULT_EVENT_TYPE

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        event_id = required_event_header(delivery, WEBHOOK_ID_HEADER)
        event_type = required_event_header(delivery, TOPIC_HEADER)
        payload = json_object(delivery.body)
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=iso_to_epoch(delivery.headers.get(TRIGGERED_AT_HEADER, "")),
            )
        ]

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        return {
            WEBHOOK_ID_HEADER: sample.event_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            TOPIC_HEADER: sample.event_type or _infer_topic(sample.body),
            "X-Shopify-Shop-Domain": SAMPLE_SHOP,
            "X-Shopify-API-Version": API_VERSION,
            TRIGGERED_AT_HEADER: epoch_to_iso(sample.timestamp),
        }

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        # Object ids from the delivery id: two samples never share a body, as two real
        # deliveries never do (the endpoint's duplicate-body window would swallow the second).
        number = int(signing.sha256_hex(event_id.encode("utf-8"))[:8], 16)
        values = {
            "now_iso": epoch_to_iso(int(time.time())),
            "customer_id": 706405506930370000 + number,
            "product_id": 788032119674292900 + number,
            "order_id": 820982911946154500 + number,
            "order_number": 1000 + number % 9000,
        }
        if event_type in sample_event_types(self.id):
            sample = event_type
        elif event_type.startswith("customers/"):
            sample = "customers/create"
        elif event_type.startswith("products/"):
            sample = "products/update"
        else:
            sample = DEFAULT_EVENT_TYPE
        return dump_json(sample_render(self.id, sample, values))


def _infer_topic(body: bytes) -> str:
    """The topic a Shopify-shaped sample body belongs to (Shopify names it only in a header)."""
    try:
        payload = json_object(body)
    except MalformedPayload:
        return DEFAULT_EVENT_TYPE
    if "line_items" in payload:
        return "orders/paid" if payload.get("financial_status") == "paid" else "orders/create"
    if "variants" in payload:
        return "products/update"
    if "first_name" in payload:
        return "customers/create"
    if "domain" in payload:
        return "app/uninstalled"
    return DEFAULT_EVENT_TYPE
