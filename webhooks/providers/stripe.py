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
from typing import ClassVar

from webhooks import signing
from webhooks.exceptions import SignatureInvalid
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    dump_json,
    epoch_or_none,
    json_object,
    required_text,
)
from webhooks.providers.samples import sample_render

SIGNATURE_HEADER = "Stripe-Signature"
SCHEME = "v1"
# The event shape of the samples; the same as `integrations.payments.conf` pins.
API_VERSION = "2026-10-28.endive"
DEFAULT_EVENT_TYPE = "payment_intent.succeeded"


class StripeWebhookProvider(WebhookProvider):
    id: ClassVar[str] = "stripe"
    name: ClassVar[str] = "Stripe"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        keys = signing.require_secrets(secrets.secrets, provider=self.id)
        header = signing.required_header(delivery.headers, SIGNATURE_HEADER)
        elements = signing.parse_signature_elements(header)
        timestamp = signing.parse_timestamp(
            signing.single_element(elements, "t", header=SIGNATURE_HEADER),
            header=SIGNATURE_HEADER,
        )
        provided = [signing.hex_to_bytes(value) for name, value in elements if name == SCHEME]
        if not provided:
            raise SignatureInvalid(f"The {SIGNATURE_HEADER} header has no {SCHEME} signature.")
        signing.verify_hmac(
            secrets=[key.encode("utf-8") for key in keys],
            message=_signed_payload(timestamp, delivery.body),
            provided=provided,
            header=SIGNATURE_HEADER,
        )
        signing.check_timestamp(
            timestamp, now=delivery.received_at, tolerance_seconds=secrets.tolerance_seconds
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        return [
            ParsedEvent(
                event_id=required_text(payload, "id", what="event id (`id`)"),
                event_type=required_text(payload, "type", what="event type (`type`)"),
                body=delivery.body,
                payload=payload,
                occurred_at=epoch_or_none(payload.get("created")),
            )
        ]

    def sign(
        self,
        body: bytes,
        secrets: EndpointSecrets,
        *,
        url: str,
        timestamp: int,
        event_type: str | None = None,
        event_id: str | None = None,
    ) -> SignedRequest:
        key = signing.require_secrets(secrets.secrets, provider=self.id)[0]
        digest = signing.hmac_digest(key.encode("utf-8"), _signed_payload(timestamp, body))
        return SignedRequest(
            body=body,
            headers={
                SIGNATURE_HEADER: f"t={timestamp},{SCHEME}={signing.bytes_to_hex(digest)}",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Content-Type": "application/json; charset=utf-8",
            },
            content_type="application/json; charset=utf-8",
        )

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


def _signed_payload(timestamp: int, body: bytes) -> bytes:
    return f"{timestamp}.".encode("ascii") + body
