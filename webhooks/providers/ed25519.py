"""Generic Ed25519-signed webhooks: a public key, a signature header over timestamp + body.

Scheme (the one Discord documents at
https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers,
and other senders reuse): the sender signs `<timestamp header value><raw body>` with Ed25519
(RFC 8032) and sends the 64-byte signature hex-encoded in `X-Signature-Ed25519` and the unix
timestamp in `X-Signature-Timestamp`. The endpoint stores the sender's 32-byte public key,
hex-encoded (`public_key`), and nothing secret. The timestamp is signed, so it is checked
against the endpoint's `tolerance_seconds` in both directions; a missing, undecodable or
wrong signature is refused with 401 (what Discord's endpoint check expects). Verification is
`cryptography`'s Ed25519 (tests cross-check with PyNaCl, the library Discord's docs use).

API version: the scheme is unversioned; Discord's interactions are API v10.

Options of the generic provider (`ed25519`): `signature_header` / `timestamp_header` (header
names, defaults above), `id_field` / `type_field` (top-level JSON fields naming the event,
defaults `id` / `type`; without an id the event id is a hash of timestamp and body, without a
type it is `webhook`) and, for test deliveries only, `test_private_key` (the 32-byte seed,
hex). `webhooks/providers/discord.py` is built on this class. Samples:
`webhooks/samples/ed25519/`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from webhooks import signing
from webhooks.exceptions import (
    EndpointSettingInvalid,
    SignatureInvalid,
    SignatureMissing,
    WebhookConfigurationError,
)
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    dump_json,
    json_object,
)
from webhooks.providers.samples import sample_render

SIGNATURE_HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
TEST_SIGNER_OPTION = "test_private_key"
_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_FIELD_NAME = re.compile(r"[^\x00-\x1f]{1,64}")


class Ed25519SignatureMissing(SignatureMissing):
    status_code = 401


class Ed25519SignatureInvalid(SignatureInvalid):
    status_code = 401


class Ed25519WebhookProvider(WebhookProvider):
    id: ClassVar[str] = "ed25519"
    name: ClassVar[str] = "Ed25519 (generic)"
    secret_kind: ClassVar[str] = "public_key"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("x-signature-timestamp", "user-agent")
    known_options: ClassVar[frozenset[str]] = frozenset(
        {"signature_header", "timestamp_header", "id_field", "type_field", TEST_SIGNER_OPTION}
    )
    # Subclasses with fixed header names (Discord) set this to False.
    configurable_headers: ClassVar[bool] = True
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    timestamp_header: ClassVar[str] = TIMESTAMP_HEADER
    default_event_type: ClassVar[str] = "webhook"
    test_headers: ClassVar[Mapping[str, str]] = {"User-Agent": "Liaison-Test/1.0"}

    def check_settings(self, secrets: EndpointSecrets) -> None:
        super().check_settings(secrets)
        if secrets.public_key.strip():
            _public_key(secrets.public_key.strip())
        options = secrets.options
        for name, pattern in (
            ("signature_header", _HEADER_NAME),
            ("timestamp_header", _HEADER_NAME),
            ("id_field", _FIELD_NAME),
            ("type_field", _FIELD_NAME),
        ):
            if name in options and not (
                isinstance(options[name], str) and pattern.fullmatch(options[name])
            ):
                raise EndpointSettingInvalid(
                    f"The {name!r} option must be a header or field name.",
                    field="options",
                    option=name,
                )
        if TEST_SIGNER_OPTION in options:
            _test_private_key(options[TEST_SIGNER_OPTION])

    def check_configuration(self, secrets: EndpointSecrets) -> None:
        self.check_settings(secrets)
        if not secrets.public_key.strip():
            raise WebhookConfigurationError(f"The {self.id} endpoint has no public key.")

    def headers_for(self, options: Mapping[str, Any]) -> tuple[str, str]:
        """(signature header, timestamp header) for an endpoint's options."""
        if not self.configurable_headers:
            return self.signature_header, self.timestamp_header
        return (
            str(options.get("signature_header") or self.signature_header),
            str(options.get("timestamp_header") or self.timestamp_header),
        )

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        if not secrets.public_key.strip():
            raise WebhookConfigurationError(f"The {self.id} endpoint has no public key.")
        key = _public_key(secrets.public_key.strip())
        signature_header, timestamp_header = self.headers_for(secrets.options)
        try:
            header = signing.required_header(delivery.headers, signature_header)
            raw_timestamp = signing.required_header(delivery.headers, timestamp_header)
        except SignatureMissing as exc:
            raise Ed25519SignatureMissing(str(exc)) from exc
        except SignatureInvalid as exc:
            raise Ed25519SignatureInvalid(str(exc)) from exc
        timestamp = signing.parse_timestamp(raw_timestamp, header=timestamp_header)
        signature = signing.hex_to_bytes(header)
        if signature is None or len(signature) != 64:
            raise Ed25519SignatureInvalid(f"The {signature_header} header is not 64 hex bytes.")
        try:
            key.verify(signature, raw_timestamp.encode("ascii") + delivery.body)
        except InvalidSignature:
            raise Ed25519SignatureInvalid(
                f"The {signature_header} signature does not match."
            ) from None
        signing.check_timestamp(
            timestamp, now=delivery.received_at, tolerance_seconds=secrets.tolerance_seconds
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        options = secrets.options if secrets is not None else {}
        event_id = _text(payload.get(str(options.get("id_field") or "id")))
        if not event_id:
            _, timestamp_header = self.headers_for(options)
            stamp = delivery.headers.get(timestamp_header, "")
            event_id = f"ed25519:{signing.sha256_hex(stamp.encode() + b'.' + delivery.body)[:32]}"
        event_type = _text(payload.get(str(options.get("type_field") or "type")))
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type or self.default_event_type,
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
        private_key = _test_private_key(secrets.options.get(TEST_SIGNER_OPTION))
        signature_header, timestamp_header = self.headers_for(secrets.options)
        stamp = str(timestamp)
        signature = private_key.sign(stamp.encode("ascii") + body)
        return SignedRequest(
            body=body,
            headers={
                signature_header: signing.bytes_to_hex(signature),
                timestamp_header: stamp,
                **self.test_headers,
                "Content-Type": "application/json",
            },
            content_type="application/json",
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or self.default_event_type
        values = {"event_id": event_id, "event_type": event_type, "now": int(time.time())}
        return dump_json(sample_render(self.id, "webhook", values))


def public_key_hex(private_key: Ed25519PrivateKey) -> str:
    """The hex public key an endpoint stores for `private_key` (tests, local setups)."""
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return raw.hex()


@lru_cache(maxsize=64)
def _public_key(value: str) -> Ed25519PublicKey:
    if not _KEY_HEX.fullmatch(value):
        raise EndpointSettingInvalid(
            "The public key must be the 32-byte Ed25519 key in hex (64 characters), as the "
            "sender shows it (Discord: the application's Public Key).",
            field="public_key",
        )
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))


def _test_private_key(value: object) -> Ed25519PrivateKey:
    if not isinstance(value, str) or not _KEY_HEX.fullmatch(value.strip()):
        raise EndpointSettingInvalid(
            f"Ed25519 senders sign with a key only they hold; to send a test delivery set the "
            f"option {TEST_SIGNER_OPTION!r} to a 32-byte seed in hex whose public key is "
            "the endpoint's public key.",
            field="options",
            option=TEST_SIGNER_OPTION,
        )
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(value.strip()))


def _text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""
