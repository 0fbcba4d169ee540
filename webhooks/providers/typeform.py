"""Typeform webhooks (Typeform Webhooks API, `form_response` payloads).

Signing scheme: https://www.typeform.com/developers/webhooks/secure-your-webhooks/ — header
`Typeform-Signature: sha256=<base64>`, the base64 HMAC-SHA256 of the raw body keyed with the
secret set on the webhook (we generate it: `shared_secret`). **No timestamp is signed**: new
Typeform endpoints get the 24-hour duplicate-body window.

Delivery and rate limits: https://www.typeform.com/developers/webhooks/ and
https://www.typeform.com/developers/get-started/#rate-limits — Typeform expects a 2xx within
30 s, retries for up to 10 hours (then disables the webhook on 410/persistent failure); API
calls are limited to 2 requests per second per account.

Event id = `event_id`, type = `event_type` (`form_response`), occurred_at =
`form_response.submitted_at` (ISO 8601). Samples: `webhooks/samples/typeform/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from webhooks.providers.hmac_base import HmacSignedProvider


class TypeformWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "typeform"
    name: ClassVar[str] = "Typeform"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    signature_header: ClassVar[str] = "Typeform-Signature"
    signature_prefix: ClassVar[str] = "sha256="
    signature_encoding: ClassVar[str] = "base64"
    event_id_field: ClassVar[str] = "event_id"
    event_type_field: ClassVar[str] = "event_type"
    occurred_at_field: ClassVar[str] = "form_response.submitted_at"
    default_event_type: ClassVar[str] = "form_response"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "Typeform Webhooks"}
