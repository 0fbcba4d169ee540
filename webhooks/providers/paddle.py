"""Paddle Billing webhooks (notifications API v1, Paddle Billing API version 1).

Signing scheme: https://developer.paddle.com/webhooks/signature-verification — header
`Paddle-Signature: ts=<unix>;h1=<hex>`, where each `h1` is the hex HMAC-SHA256 of
`"<ts>:<raw body>"` keyed with the notification destination's secret key
(`pdl_ntfset_…`, used as-is). While a secret is rotated Paddle sends one `h1` per active key,
so any match is enough. The timestamp is checked against the endpoint's tolerance in both
directions (Paddle's SDKs default to 5 s; the endpoint setting applies here, 300 s unless
changed, because Paddle retries with a fresh `ts`).

Delivery and rate limits: https://developer.paddle.com/webhooks/respond-to-webhooks and
https://developer.paddle.com/api-reference/about/rate-limiting — Paddle expects a 2xx within
5 s, retries 60 times over 3 days (live) with backoff; API calls are limited to 240 requests
per minute per IP.

Event id = `event_id` (`evt_…`, the same on a retry), type = `event_type`
(`transaction.completed`, `subscription.created`, …), occurred_at = `occurred_at` (RFC 3339).
Samples: `webhooks/samples/paddle/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks.providers.hmac_base import HmacSignedProvider


class PaddleWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "paddle"
    name: ClassVar[str] = "Paddle Billing"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    signature_header: ClassVar[str] = "Paddle-Signature"
    signature_separator: ClassVar[str] = ";"
    signature_key: ClassVar[str] = "h1"
    max_signatures: ClassVar[int] = 8
    timestamp_element: ClassVar[str] = "ts"
    signed_content: ClassVar[str] = "{timestamp}:{body}"
    event_id_field: ClassVar[str] = "event_id"
    event_type_field: ClassVar[str] = "event_type"
    occurred_at_field: ClassVar[str] = "occurred_at"
    default_event_type: ClassVar[str] = "transaction.completed"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "Paddle"}
