"""A host project's own webhook provider, as a host would write it (for the extension tests).

Acme signs the raw body with HMAC-SHA256 and sends the hex digest in `X-Acme-Signature`; the
event id and type are the body's `id` and `type`. Built on Liaison's shared signing mechanics,
like the built-in providers.
"""

from __future__ import annotations

import json
import uuid
from typing import ClassVar

from webhooks import signing
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    json_object,
    required_text,
)

SIGNATURE_HEADER = "X-Acme-Signature"


class AcmeWebhookProvider(WebhookProvider):
    id: ClassVar[str] = "acme"
    name: ClassVar[str] = "Acme Corp"
    secret_kind: ClassVar[str] = "shared_secret"

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        keys = signing.require_secrets(secrets.secrets, provider=self.id)
        header = signing.required_header(delivery.headers, SIGNATURE_HEADER)
        signing.verify_hmac(
            secrets=[key.encode() for key in keys],
            message=delivery.body,
            provided=[signing.hex_to_bytes(header)],
            header=SIGNATURE_HEADER,
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
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
        digest = signing.hmac_digest(secrets.secrets[0].encode(), body)
        return SignedRequest(body=body, headers={SIGNATURE_HEADER: signing.bytes_to_hex(digest)})

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        return json.dumps({"id": event_id, "type": event_type or "widget.created"}).encode()


class AcmeRivalProvider(AcmeWebhookProvider):
    """Another class claiming the id "acme"."""

    name: ClassVar[str] = "Acme Rival"


class StripeImpostorProvider(AcmeWebhookProvider):
    """A host class that reuses a built-in provider's id."""

    id: ClassVar[str] = "stripe"


class NotAProvider:
    id = "not-a-provider"
    name = "Not a provider"


def fresh_event_id() -> str:
    return f"acme_evt_{uuid.uuid4().hex[:16]}"
