"""Signed webhook deliveries for the fault tests, made by the providers' own `sign()`.

A `Delivery` is exactly what a provider would POST (body and headers, signed for the URL it
is posted to), plus the (endpoint, event id) pairs the receive view will store for it, read
with the provider's own parser. Posting the same `Delivery` twice is a provider's retry.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from tests.webhooks.factories import fake_secret
from webhooks.models import WebhookEndpoint
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.services import webhook_endpoint_create

# Providers whose deliveries can be signed with a secret the test holds (SendGrid signs with a
# private key; the generic HMAC provider needs per-endpoint options): one endpoint each.
LOAD_PROVIDERS: tuple[str, ...] = ("stripe", "github", "standard", "shopify", "slack", "twilio")


@dataclass(frozen=True)
class SigningEndpoint:
    """An endpoint and the secret the test signs its deliveries with."""

    provider: str
    slug: str
    endpoint_id: int
    secret: str

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, secret: str) -> SigningEndpoint:
        return cls(endpoint.provider, endpoint.slug, endpoint.pk, secret)

    def url(self, base_url: str) -> str:
        return f"{base_url}/webhooks/{self.slug}/"


@dataclass(frozen=True)
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    # (endpoint id, event id) of every event the delivery holds.
    keys: tuple[tuple[int, str], ...]
    event_type: str


STRIPE_FIXTURES = Path(__file__).resolve().parents[1] / "webhooks" / "fixtures" / "stripe"


def make_signing_endpoint(provider: str) -> SigningEndpoint:
    impl = get_provider(provider)
    if impl.secret_kind == "shared_secret":  # pragma: allowlist secret - a kind name
        secret = impl.generate_secret()
    elif provider == "stripe":
        secret = fake_secret()
    else:
        # pragma: allowlist nextline secret - random per run
        secret = "test-signing-" + secrets.token_hex(16)
    created = webhook_endpoint_create(
        provider=provider, slug=f"rel-{provider}-{uuid.uuid4().hex[:8]}", secret=secret
    )
    return SigningEndpoint.of(created.endpoint, secret)


def sign_delivery(
    target: SigningEndpoint,
    base_url: str,
    *,
    event_type: str | None = None,
    body: bytes | None = None,
    event_id: str | None = None,
) -> Delivery:
    """A delivery signed now; `body` defaults to the provider's realistic sample."""
    provider = get_provider(target.provider)
    event_id = event_id or f"evt_rel_{uuid.uuid4().hex[:20]}"
    if body is None:
        body = provider.sample_body(event_type, event_id=event_id)
    url = target.url(base_url)
    signed = provider.sign(
        body,
        EndpointSecrets(secrets=(target.secret,)),
        url=url,
        timestamp=int(time.time()),
        event_type=event_type,
        event_id=event_id,
    )
    headers = {"Content-Type": signed.content_type, **signed.headers}
    incoming = IncomingDelivery(
        body=signed.body,
        headers=Headers(headers),
        url=url,
        content_type=signed.content_type.split(";")[0].strip(),
        form=_form(signed.body, signed.content_type),
    )
    events = provider.parse(incoming, EndpointSecrets(secrets=(target.secret,)))
    return Delivery(
        url=url,
        body=signed.body,
        headers=headers,
        keys=tuple((target.endpoint_id, e.event_id) for e in events),
        event_type=events[0].event_type,
    )


def _form(body: bytes, content_type: str) -> dict[str, list[str]]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {}


def stripe_payment_body(
    *, event_type: str, event_id: str, intent_id: str, created: int, email: str
) -> bytes:
    """A Stripe `payment_intent.*` event for a given intent, at a given time: Stripe's own
    fixture (tests/webhooks/fixtures/stripe/, from stripe/openapi) with its ids replaced."""
    sample: dict[str, Any] = json.loads((STRIPE_FIXTURES / f"{event_type}.json").read_text())
    sample["id"] = event_id
    sample["created"] = created
    intent = sample["data"]["object"]
    intent["id"] = intent_id
    intent["created"] = created - 60
    intent["receipt_email"] = email
    return json.dumps(sample, separators=(",", ":")).encode()


_local = threading.local()


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def post(delivery: Delivery, *, timeout: float = 30.0) -> int:
    """POST one delivery on this thread's keep-alive session: the status, or 0 when the
    connection failed."""
    try:
        response = _session().post(
            delivery.url, data=delivery.body, headers=delivery.headers, timeout=timeout
        )
    except requests.RequestException:
        return 0
    return response.status_code


def post_all(
    deliveries: Iterable[Delivery], *, threads: int = 16, on_done: Any = None
) -> list[tuple[Delivery, int]]:
    """POST every delivery from a thread pool; (delivery, status) in completion order.

    `on_done(done_count)` is called in the calling thread after each completion (e.g. to kill
    a worker at some point of the run).
    """
    results: list[tuple[Delivery, int]] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(post, d): d for d in deliveries}
        for future in as_completed(futures):
            results.append((futures[future], future.result()))
            if on_done is not None:
                on_done(len(results))
    return results
