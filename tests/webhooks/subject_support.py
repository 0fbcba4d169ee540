"""Deliveries whose subject tests search for: Stripe and SendGrid fixtures, posted signed."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.webhooks.factories import fake_secret, make_endpoint, signed_stripe_headers

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / name).read_text())


def post_stripe(client: Any, name: str = "payment_intent.succeeded.json") -> dict[str, Any]:
    """Post a Stripe fixture to a fresh endpoint; returns the payload posted."""
    secret = fake_secret()
    endpoint = make_endpoint(provider="stripe", secret=secret)
    payload = fixture("stripe", name)
    body = json.dumps(payload).encode()
    response = client.post(
        f"/webhooks/{endpoint.slug}/",
        data=body,
        content_type="application/json",
        **signed_stripe_headers(body, secret),
    )
    assert response.status_code == 200, response.content
    return payload


def post_sendgrid(client: Any) -> list[dict[str, Any]]:
    """Post the SendGrid fixture batch, signed with a key pair made for the test."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    endpoint = make_endpoint(provider="sendgrid", public_key=public)
    batch = fixture("sendgrid", "delivered.json")
    body = json.dumps(batch).encode()
    timestamp = str(int(time.time()))
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    response = client.post(
        f"/webhooks/{endpoint.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=base64.b64encode(signature).decode(),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )
    assert response.status_code == 200, response.content
    return batch
