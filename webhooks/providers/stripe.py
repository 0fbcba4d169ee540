"""Stripe webhook signatures (API version 2024-06-20 event shape; scheme unchanged since v1).

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

Event id = `id` (`evt_…`), type = `type`, occurred_at = `created`.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

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

SIGNATURE_HEADER = "Stripe-Signature"
SCHEME = "v1"
API_VERSION = "2024-06-20"
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
        event_type = event_type or DEFAULT_EVENT_TYPE
        created = int(time.time())
        event: dict[str, Any] = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": created,
            "data": {"object": _sample_object(event_type, event_id, created)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if event_type.endswith(".updated"):
            event["data"]["previous_attributes"] = {"status": "trialing"}
        return dump_json(event)


def _signed_payload(timestamp: int, body: bytes) -> bytes:
    return f"{timestamp}.".encode("ascii") + body


def _suffix(event_id: str) -> str:
    """A stable object-id suffix derived from the event id, so samples look consistent."""
    return signing.sha256_hex(event_id.encode("utf-8"))[:24]


def _payment_intent(suffix: str, created: int, *, status: str) -> dict[str, Any]:
    failed = status == "requires_payment_method"
    return {
        "id": f"pi_{suffix}",
        "object": "payment_intent",
        "amount": 4200,
        "amount_capturable": 0,
        "amount_received": 0 if failed else 4200,
        "capture_method": "automatic",
        "client_secret": None,  # nosec B105 - a sample object's empty field
        "confirmation_method": "automatic",
        "created": created,
        "currency": "usd",
        "customer": f"cus_{suffix[:14]}",
        "description": "Order ORD-1001",
        "last_payment_error": (
            {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "type": "card_error",
            }
            if failed
            else None
        ),
        "latest_charge": None if failed else f"ch_{suffix}",
        "livemode": False,
        "metadata": {"order_reference": "ORD-1001"},
        "payment_method": None if failed else f"pm_{suffix}",
        "payment_method_types": ["card"],
        "receipt_email": "customer@example.com",
        "status": status,
    }


def _sample_object(event_type: str, event_id: str, created: int) -> dict[str, Any]:
    suffix = _suffix(event_id)
    if event_type == "payment_intent.payment_failed":
        return _payment_intent(suffix, created, status="requires_payment_method")
    if event_type == "charge.refunded":
        return {
            "id": f"ch_{suffix}",
            "object": "charge",
            "amount": 4200,
            "amount_captured": 4200,
            "amount_refunded": 4200,
            "captured": True,
            "created": created,
            "currency": "usd",
            "customer": f"cus_{suffix[:14]}",
            "livemode": False,
            "metadata": {"order_reference": "ORD-1001"},
            "paid": True,
            "payment_intent": f"pi_{suffix}",
            "refunded": True,
            "status": "succeeded",
        }
    if event_type.startswith("customer.subscription."):
        return {
            "id": f"sub_{suffix}",
            "object": "subscription",
            "cancel_at_period_end": False,
            "created": created,
            "currency": "usd",
            "current_period_end": created + 30 * 86400,
            "current_period_start": created,
            "customer": f"cus_{suffix[:14]}",
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_{suffix[:14]}",
                        "object": "subscription_item",
                        "price": {
                            "id": "price_sample_monthly",
                            "object": "price",
                            "currency": "usd",
                            "recurring": {"interval": "month", "interval_count": 1},
                            "unit_amount": 1500,
                        },
                        "quantity": 1,
                    }
                ],
                "has_more": False,
            },
            "livemode": False,
            "metadata": {"order_reference": "ORD-1001"},
            "status": "active",
        }
    if event_type.startswith("invoice."):
        return {
            "id": f"in_{suffix}",
            "object": "invoice",
            "amount_due": 1500,
            "amount_paid": 1500,
            "amount_remaining": 0,
            "billing_reason": "subscription_cycle",
            "created": created,
            "currency": "usd",
            "customer": f"cus_{suffix[:14]}",
            "livemode": False,
            "metadata": {"order_reference": "ORD-1001"},
            "paid": True,
            "status": "paid",
            "subscription": f"sub_{suffix}",
        }
    # payment_intent.succeeded, and a PaymentIntent-shaped object for any other type.
    return _payment_intent(suffix, created, status="succeeded")
