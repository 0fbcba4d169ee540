"""A webhook sender Liaison does not ship: registered with `WEBHOOKS_PROVIDERS` in settings.

Acme signs `<timestamp>.<body>` with HMAC-SHA256 under a shared secret we generate, sends
`Acme-Timestamp` and `Acme-Signature: <hex>`, and names the event in the JSON body
(`{"id": …, "type": …}`). Only the scheme is declared here; Liaison's signing helpers do the
constant-time comparison and the timestamp tolerance.
"""

import json
import time
import uuid

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    json_object,
    required_text,
)

SIGNATURE_HEADER = "Acme-Signature"
TIMESTAMP_HEADER = "Acme-Timestamp"


def _message(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode("ascii") + b"." + body


class AcmeWebhookProvider(WebhookProvider):
    id = "acme"
    name = "Acme Logistics"
    secret_kind = "shared_secret"  # a kind of secret, not one
    stored_headers = ("acme-timestamp",)

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        keys = signing.require_secrets(secrets.secrets, provider=self.id)
        stamp = signing.required_header(delivery.headers, TIMESTAMP_HEADER)
        signature = signing.required_header(delivery.headers, SIGNATURE_HEADER)
        timestamp = signing.parse_timestamp(stamp, header=TIMESTAMP_HEADER)
        signing.check_timestamp(
            timestamp, now=delivery.received_at, tolerance_seconds=secrets.tolerance_seconds
        )
        signing.verify_hmac(
            secrets=[key.encode("utf-8") for key in keys],
            message=_message(stamp, delivery.body),
            provided=[signing.hex_to_bytes(signature)],
            header=SIGNATURE_HEADER,
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise MalformedPayload("An Acme event has a data object.")
        return [
            ParsedEvent(
                event_id=required_text(payload, "id", what="event id"),
                event_type=required_text(payload, "type", what="event type"),
                body=delivery.body,
                payload=payload,
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
        stamp = str(timestamp)
        digest = signing.hmac_digest(key.encode("utf-8"), _message(stamp, body))
        return SignedRequest(
            body=body,
            headers={
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: signing.bytes_to_hex(digest),
                "Content-Type": "application/json",
            },
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        payload = {
            "id": event_id or f"acme_{uuid.uuid4().hex}",
            "type": event_type or "order.shipped",
            "created": int(time.time()),
            "data": {"order": "ORD-2001", "carrier": "acme-ground"},
        }
        return json.dumps(payload).encode("utf-8")
