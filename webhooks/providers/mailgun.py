"""Mailgun webhooks (the JSON webhooks of Mailgun's v3 Webhooks API).

Signing scheme: https://documentation.mailgun.com/docs/mailgun/user-manual/events/webhooks/#securing-webhooks
— the signature travels *in the body*: `{"signature": {"timestamp": "…", "token": "…",
"signature": "<hex>"}, "event-data": {…}}`, where `signature` is the hex HMAC-SHA256 of
`timestamp + token` keyed with the account's HTTP webhook signing key (the endpoint's secret).
The signature does not cover `event-data`, so on its own a captured signature could be glued
to any body and replayed. Mailgun tells receivers to refuse stale timestamps and reused tokens;
both are enforced here:

- the timestamp is checked against the endpoint's `tolerance_seconds` in both directions
  (declared as `timestamp_element`, checked by the declarative base);
- each token is accepted once: after a delivery verifies, its token is added to the Django
  cache (`cache.add`, atomic on Redis and per process on the in-process cache) for twice the
  tolerance, so the same token is refused (`token_replayed`, 400) for as long as its timestamp
  could still pass. Mailgun signs every attempt afresh, so its retries carry new tokens and
  are stored once by their `event-data.id`.

Built on `webhooks.providers.hmac_base.HmacSignedProvider`: the scheme is declared, the two
hooks read the signature and message from the body. The legacy form-encoded webhooks are not
supported. Delivery: Mailgun retries a non-2xx answer (except 406) for 8 hours with increasing
intervals; the API is rate limited per account (https://documentation.mailgun.com/docs/mailgun/api-reference/).

What is parsed: id `event-data.id`, type `event-data.event` (`delivered`, `failed`, `opened`,
`clicked`, `unsubscribed`, `complained`, `accepted`, …), occurred_at `event-data.timestamp`.
Samples: `webhooks/samples/mailgun/`.
"""

from __future__ import annotations

import json
import secrets as secrets_module
from typing import Any, ClassVar

from django.core.cache import cache

from webhooks import signing
from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    dump_json,
    json_object,
)
from webhooks.providers.hmac_base import (
    HmacScheme,
    HmacSignedProvider,
    ProvidedSignatures,
    SignedContent,
)

SIGNATURE_FIELD = "signature"
_TOKEN_CACHE_PREFIX = "liaison_webhooks:mailgun:token:v1:"  # noqa: S105  # nosec B105 - a key prefix
_MAX_TOKEN_LENGTH = 256


class TokenReplayed(SignatureInvalid):
    reason = "token_replayed"


class MailgunWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "mailgun"
    name: ClassVar[str] = "Mailgun"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    # The scheme, as data. `signature_header` names where the signature is (for messages):
    # the hooks below read it from the body.
    signature_header: ClassVar[str] = "signature.signature"
    signature_encoding: ClassVar[str] = "hex"
    digest: ClassVar[str | None] = "sha256"
    timestamp_element: ClassVar[str] = "timestamp"
    timestamp_format: ClassVar[str] = "s"
    event_id_field: ClassVar[str] = "event-data.id"
    event_type_field: ClassVar[str] = "event-data.event"
    occurred_at_field: ClassVar[str] = "event-data.timestamp"
    default_event_type: ClassVar[str] = "delivered"
    test_headers: ClassVar[dict[str, str]] = {"User-Agent": "mailgun/treq-16.12.0"}

    def provided_signatures(
        self, delivery: IncomingDelivery, scheme: HmacScheme
    ) -> ProvidedSignatures:
        block = _signature_block(delivery.body)
        return ProvidedSignatures((block["signature"],), block["timestamp"])

    def signed_message(self, content: SignedContent, scheme: HmacScheme) -> bytes:
        block = _signature_block(content.body)
        return (block["timestamp"] + block["token"]).encode("utf-8")

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        super().verify(delivery, secrets)
        token = _signature_block(delivery.body)["token"]
        tolerance = self.signing_scheme(secrets).tolerance_seconds or secrets.tolerance_seconds
        key = _TOKEN_CACHE_PREFIX + signing.sha256_hex(token.encode("utf-8"))
        if not cache.add(key, 1, timeout=2 * tolerance + 60):
            raise TokenReplayed("The Mailgun signature token was already used.")

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        if not isinstance(payload.get("event-data"), dict):
            raise MalformedPayload("The body has no `event-data` object.")
        return [self.json_event(delivery, payload, body=delivery.body)]

    def event_subject(self, event: ParsedEvent) -> str:
        data = event.payload.get("event-data") if isinstance(event.payload, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        headers = message.get("headers") if isinstance(message, dict) else None
        value = headers.get("message-id") if isinstance(headers, dict) else None
        return value if isinstance(value, str) else ""

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
        """Sign as Mailgun does: a fresh token, and the signature block written into the body."""
        scheme = self.signing_scheme(secrets)
        key = self.secret_key(signing.require_secrets(secrets.secrets, provider=self.id)[0], scheme)
        payload = json_object(body)
        token = secrets_module.token_hex(25)  # Mailgun's tokens are 50 characters
        digest = signing.hmac_digest(key, f"{timestamp}{token}".encode("ascii"), "sha256")
        payload[SIGNATURE_FIELD] = {
            "timestamp": str(timestamp),
            "token": token,
            "signature": signing.encode_signature(digest, "hex"),
        }
        headers = {**self.test_headers, "Content-Type": "application/json"}
        return SignedRequest(
            body=dump_json(payload), headers=headers, content_type=self.content_type
        )


def _signature_block(body: bytes) -> dict[str, str]:
    """`timestamp`, `token` and `signature` of the body's `signature` object, as strings;
    `SignatureMissing` when absent."""
    try:
        block: Any = json.loads(body.decode("utf-8")).get(SIGNATURE_FIELD)
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        raise MalformedPayload("The body is not a JSON object.") from None
    if not isinstance(block, dict):
        raise SignatureMissing("The body has no `signature` object.")
    values: dict[str, str] = {}
    for name in ("timestamp", "token", "signature"):
        value = block.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise SignatureMissing(f"The `signature` object has no {name!r}.")
        if len(value) > _MAX_TOKEN_LENGTH:
            raise SignatureInvalid(f"The `signature.{name}` value is too long.")
        values[name] = value.strip()
    return values
