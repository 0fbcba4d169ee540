"""Stripe webhook signatures (API version 2026-10-28.endive event shape; scheme unchanged since v1).

Signing scheme: https://docs.stripe.com/webhooks#verify-manually — header
`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`; each `v1` is the hex HMAC-SHA256 of
`"<t>.<raw body>"` keyed with the endpoint's signing secret (`whsec_…`, used as-is, not decoded).
While a secret is being rolled Stripe sends one `v1` per active secret, so any match is enough.
`v0` (test-mode legacy) and unknown schemes are ignored. Unlike the SDK, which only rejects old
timestamps, we reject timestamps outside the tolerance in *both* directions.

Delivery and rate limits: https://docs.stripe.com/webhooks#retries — Stripe retries for up to
three days with exponential backoff and expects a 2xx within seconds; API calls are limited to
100 read/write requests per second in live mode (https://docs.stripe.com/rate-limits), which is
why handlers must not call back to Stripe unless they need fresh data.

Event id = `id` (`evt_…`), type = `type`, occurred_at = `created`. Samples
(`webhooks/samples/stripe/`, one per handled type) follow the API version the project pins
(`STRIPE_API_VERSION`, `integrations/payments/conf.py`): e.g. a PaymentIntent's status matches
its event, an invoice names its subscription under `parent.subscription_details`, and a
subscription's periods are on its items.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import ClassVar

from webhooks import signing
from webhooks.providers.base import ParsedEvent, dump_json
from webhooks.providers.hmac_base import HmacSignedProvider
from webhooks.providers.samples import sample_render

SIGNATURE_HEADER = "Stripe-Signature"
SCHEME = "v1"
# The event shape of the samples; the same as `integrations.payments.conf` pins.
API_VERSION = "2026-10-28.endive"
DEFAULT_EVENT_TYPE = "payment_intent.succeeded"


class StripeWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "stripe"
    name: ClassVar[str] = "Stripe"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    signature_header: ClassVar[str] = SIGNATURE_HEADER
    signature_separator: ClassVar[str] = ","
    signature_key: ClassVar[str] = SCHEME
    # One `v1` per active secret while a secret is rolled; more is not something Stripe sends.
    max_signatures: ClassVar[int] = 16
    timestamp_element: ClassVar[str] = "t"
    signed_content: ClassVar[str] = "{timestamp}.{body}"
    event_id_field: ClassVar[str] = "id"
    event_type_field: ClassVar[str] = "type"
    occurred_at_field: ClassVar[str] = "created"
    default_event_type: ClassVar[str] = DEFAULT_EVENT_TYPE
    content_type: ClassVar[str] = "application/json; charset=utf-8"
    test_headers: ClassVar[Mapping[str, str]] = {
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }

    def event_subject(self, event: ParsedEvent) -> str:
        """`data.object.id`: the PaymentIntent, customer, subscription or invoice (`pi_…`,
        `cus_…`, `sub_…`, `in_…`) the event is about."""
        payload = event.payload
        data = payload.get("data") if isinstance(payload, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        subject = obj.get("id") if isinstance(obj, dict) else None
        return subject if isinstance(subject, str) else ""

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        """The sample for `event_type` (`webhooks/samples/stripe/`), shaped as API version
        `API_VERSION` sends it. A type without a sample raises `WebhookConfigurationError`
        naming those that have one: a Stripe sample is never another type's object."""
        created = int(time.time())
        suffix = signing.sha256_hex(event_id.encode("utf-8"))[:24]
        values = {
            "event_id": event_id,
            "created": created,
            "object_created": created - 5,
            "period_end": created + 30 * 86400,
            "suffix": suffix,
            "customer_suffix": suffix[:14],
            "invoice_prefix": suffix[:8].upper(),
        }
        return dump_json(sample_render(self.id, event_type or DEFAULT_EVENT_TYPE, values))
