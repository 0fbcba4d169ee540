"""The provider contract: what differs between webhook senders, and nothing else.

The receive view (webhooks/views.py) runs the whole flow — size check, endpoint lookup,
`provider.verify()`, `provider.parse()`, one insert per event, enqueue, respond. A provider
module only declares how its deliveries are signed and how they name their events.

Values passed between layers are frozen dataclasses:

- `IncomingDelivery`: the raw request as received (body bytes, headers, public URL, form).
- `EndpointSecrets`: what the endpoint stores to verify (decrypted secrets, public key,
  tolerance, per-endpoint options such as the generic HMAC header).
- `ParsedEvent`: one event of a delivery (a SendGrid batch gives several).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only HTTP headers: `Stripe-Signature` == `stripe-signature`."""

    def __init__(self, items: Mapping[str, str] | Sequence[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._data = {name.lower(): value for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._data[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._data)})"


@dataclass(frozen=True)
class IncomingDelivery:
    body: bytes
    headers: Headers
    # The URL the sender posted to, as the sender saw it (scheme, host, path, query). Twilio
    # signs it, so behind a proxy it must be rebuilt from the public base URL setting.
    url: str = ""
    content_type: str = ""
    # Decoded form fields for application/x-www-form-urlencoded bodies (Twilio), else empty.
    form: Mapping[str, Sequence[str]] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class EndpointSecrets:
    # Every active secret, newest first; any one of them verifies (rotation without loss).
    secrets: tuple[str, ...] = ()
    # PEM or base64 DER public key (SendGrid's signed event webhook).
    public_key: str = ""
    tolerance_seconds: int = 300
    # Per-endpoint options, e.g. the generic HMAC provider's header/algorithm/encoding/prefix.
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    event_type: str
    # The bytes stored for this event: the whole body, or one element of a batch.
    body: bytes
    # Parsed payload (dict for JSON objects, form fields for Twilio), for handlers.
    payload: Any = None
    # When the provider says the event happened (epoch seconds), if it says.
    occurred_at: float | None = None


@dataclass(frozen=True)
class ImmediateResponse:
    """A reply the provider expects synchronously instead of a plain 2xx (Slack's challenge)."""

    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass(frozen=True)
class SignedRequest:
    """What `send_test_webhook` posts: the body and headers exactly as the provider sends."""

    body: bytes
    headers: dict[str, str]
    content_type: str = "application/json"


class WebhookProvider(ABC):
    """One webhook sender. Subclasses set the class attributes and fill in the hooks."""

    id: ClassVar[str]
    name: ClassVar[str]
    # "shared_secret": we generate one when none is given (Standard Webhooks, hmac, GitHub);
    # "provider_secret": the provider shows a secret that must be pasted in;
    # "public_key": the endpoint stores the provider's public key (SendGrid).
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    # Headers kept with the stored event (lower-case). Signature headers are never kept.
    stored_headers: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        """Raise a `DeliveryRejected` subclass unless the delivery is authentic and fresh."""

    @abstractmethod
    def parse(self, delivery: IncomingDelivery) -> list[ParsedEvent]:
        """The events of a verified delivery; `MalformedPayload` when it has none."""

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        """A synchronous reply instead of the default acknowledgement (None: default)."""
        return None

    @abstractmethod
    def sign(
        self, body: bytes, secrets: EndpointSecrets, *, url: str, timestamp: int
    ) -> SignedRequest:
        """Sign `body` exactly as the provider would (for `send_test_webhook`)."""

    @abstractmethod
    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        """A realistic sample delivery body for `send_test_webhook`."""

    def generate_secret(self) -> str:
        """A new secret for schemes where we choose it (`secret_kind == "shared_secret"`)."""
        from secrets import token_urlsafe

        return token_urlsafe(32)
