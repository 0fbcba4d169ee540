"""Test data for the webhooks app: endpoints with secrets, stored events, signed deliveries."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

import stripe
from django.utils import timezone

from webhooks.models import WebhookEndpoint, WebhookEvent, WebhookSecret
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets


def fake_secret() -> str:
    """An obviously fake, freshly generated Stripe-style signing secret."""
    return f"whsec_test_{secrets.token_hex(16)}"


def make_endpoint(
    *, provider: str = "stripe", slug: str | None = None, secret: str | None = None, **fields: Any
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(
        provider=provider, slug=slug or f"ep-{uuid.uuid4().hex[:10]}", **fields
    )
    WebhookSecret.objects.create(endpoint=endpoint, value=secret or fake_secret())
    return endpoint


def make_event(
    *, endpoint: WebhookEndpoint, event_type: str = "liaison.test.unhandled", **fields: Any
) -> WebhookEvent:
    event_id = fields.pop("event_id", f"evt_{uuid.uuid4().hex[:20]}")
    body = fields.pop(
        "body", json.dumps({"id": event_id, "type": event_type, "object": "event"}).encode()
    )
    now = timezone.now()
    values: dict[str, Any] = {
        "received_at": now,
        "next_attempt_at": now,
        "headers": {"content-type": "application/json"},
    }
    values.update(fields)
    return WebhookEvent.objects.create(
        endpoint=endpoint, event_id=event_id, event_type=event_type, body=body, **values
    )


def stripe_body(
    *, event_type: str = "liaison.test.unhandled", event_id: str | None = None
) -> bytes:
    event_id = event_id or f"evt_{uuid.uuid4().hex[:24]}"
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "type": event_type,
            "data": {"object": {"id": "pi_test_1", "object": "payment_intent", "amount": 4200}},
        }
    ).encode()


def signed_stripe_headers(
    body: bytes, secret: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """Headers for the Django test client, signed by the `stripe` SDK (the reference signer)."""
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8"), secret, timestamp or int(time.time())
    )
    return {"HTTP_STRIPE_SIGNATURE": header}


def provider_signed_headers(body: bytes, secret: str) -> dict[str, str]:
    """Headers signed by our own Stripe provider (what `send_test_webhook` sends)."""
    signed = get_provider("stripe").sign(
        body,
        EndpointSecrets(secrets=(secret,)),
        url="http://testserver/",
        timestamp=int(time.time()),
    )
    return {"HTTP_STRIPE_SIGNATURE": signed.headers["Stripe-Signature"]}
