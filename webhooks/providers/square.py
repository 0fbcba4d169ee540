"""Square webhooks (Square API version 2025-10-16 event payloads).

Signing scheme: https://developer.squareup.com/docs/webhooks/step3validate — header
`x-square-hmacsha256-signature`, the base64 HMAC-SHA256 of the notification URL (exactly as
configured in the Developer Console subscription) followed by the raw body, keyed with the
subscription's signature key. The URL is rebuilt from `WEBHOOKS_PUBLIC_BASE_URL` and the
request path (`signs_url`), so it must match what Square was given. **No timestamp is
signed**: new Square endpoints get the 24-hour duplicate-body window (Square's bodies carry
`created_at`, so genuine events never repeat a body).

Delivery and rate limits: https://developer.squareup.com/docs/webhooks/overview — Square
expects a 2xx within 10 s and retries for up to 24 hours with exponential backoff; Square API
calls a handler makes are rate limited per application (HTTP 429, `RATE_LIMITED`).

Event id = `event_id` (the same on a retry), type = `type` (`payment.updated`, …),
occurred_at = `created_at` (RFC 3339). Samples: `webhooks/samples/square/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks.providers.hmac_base import HmacSignedProvider


class SquareWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "square"
    name: ClassVar[str] = "Square"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    signs_url: ClassVar[bool] = True
    stored_headers: ClassVar[tuple[str, ...]] = (
        "square-environment",
        "square-version",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = "x-square-hmacsha256-signature"
    signature_encoding: ClassVar[str] = "base64"
    signed_content: ClassVar[str] = "{url}{body}"
    event_id_field: ClassVar[str] = "event_id"
    event_type_field: ClassVar[str] = "type"
    occurred_at_field: ClassVar[str] = "created_at"
    default_event_type: ClassVar[str] = "payment.updated"
    test_headers: ClassVar[Mapping[str, str]] = {
        "Square-Environment": "Sandbox",
        "User-Agent": "Square Connect v2",
    }
