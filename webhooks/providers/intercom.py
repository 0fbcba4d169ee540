"""Intercom webhooks (Intercom API version 2.11 notification payloads).

Signing scheme: https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications
— header `X-Hub-Signature: sha1=<hex>`, the hex HMAC-SHA1 of the raw body keyed with the
app's client secret. **No timestamp is signed** and the notification id is not covered: new
Intercom endpoints get the 24-hour duplicate-body window.

Delivery and rate limits: https://developers.intercom.com/docs/webhooks/handling-webhooks —
Intercom expects a 200 within 5 s, retries once after a minute, and suspends a topic that keeps
failing; REST API calls are limited to 10,000 per minute per app (distributed per 10 s).

Event id = `id` (`notif_…`), type = `topic` (`conversation.user.created`, …), occurred_at =
`created_at` (epoch seconds). Samples: `webhooks/samples/intercom/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks.providers.hmac_base import HmacSignedProvider


class IntercomWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "intercom"
    name: ClassVar[str] = "Intercom"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    signature_header: ClassVar[str] = "X-Hub-Signature"
    signature_prefix: ClassVar[str] = "sha1="
    digest: ClassVar[str | None] = "sha1"
    event_id_field: ClassVar[str] = "id"
    event_type_field: ClassVar[str] = "topic"
    occurred_at_field: ClassVar[str] = "created_at"
    default_event_type: ClassVar[str] = "conversation.user.created"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "Intercom-Webhooks"}
