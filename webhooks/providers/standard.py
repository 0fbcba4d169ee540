"""Standard Webhooks (spec v1.0.0) — Svix and the services built on it (Resend, Clerk, …).

Signing scheme: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
— headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`, a
space-separated list of `<version>,<base64>` entries; `v1` entries are the base64
HMAC-SHA256 of `"<id>.<timestamp>.<raw body>"`, keyed with the base64-decoded part of the
`whsec_<base64>` secret. Other versions (e.g. asymmetric `v1a`) are ignored. Svix's original
`svix-id` / `svix-timestamp` / `svix-signature` header names are accepted too. The timestamp is
checked against the endpoint's tolerance in both directions (the spec's reference libraries
use 5 minutes).

Delivery and rate limits: https://docs.svix.com/retries and
https://docs.svix.com/receiving/verifying-payloads/how — Svix expects a 2xx within 15 seconds and
retries on a schedule over about 28 hours (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); senders
may rate limit deliveries per endpoint (Svix: configurable per endpoint). Resend and Clerk follow
the same scheme.

Event id = `webhook-id` (the same on every retry; the spec names it the idempotency key).
Event type = the JSON body's `type`; the spec makes the envelope optional (its own test vector
is `{"test": 2432232314}`), so a body without a string `type` — or one that is not an object —
gets the type `webhook` (`UNTYPED_EVENT_TYPE`, as the generic HMAC provider), and handlers
registered for `("standard", "webhook")` receive it. occurred_at = the body's `timestamp`
(ISO 8601 for Svix, epoch *milliseconds* for Clerk), else its `created_at` (Resend, ISO 8601),
else the signed `webhook-timestamp` header (seconds). Samples: `webhooks/samples/standard/`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import secrets as secrets_module
import time
import uuid
from typing import Any, ClassVar, cast

from webhooks import signing
from webhooks.exceptions import EndpointSettingInvalid, MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    Headers,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    epoch_or_none,
    iso_to_epoch,
    json_payload,
    scaled_epoch_or_none,
)
from webhooks.providers.hmac_base import HmacScheme, HmacSignedProvider
from webhooks.providers.samples import sample_event_types, sample_render

SECRET_PREFIX = "whsec_"  # noqa: S105 - the documented secret prefix, not a secret  # nosec B105
SIGNATURE_VERSION = "v1"
HEADER_PREFIXES = ("webhook-", "svix-")
DEFAULT_EVENT_TYPE = "user.created"
# The type of a delivery whose body names none (`type` is optional in the spec).
UNTYPED_EVENT_TYPE = "webhook"


class StandardWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "standard"
    name: ClassVar[str] = "Standard Webhooks (Svix, Resend, Clerk)"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "webhook-id",
        "webhook-timestamp",
        "svix-id",
        "svix-timestamp",
        "user-agent",
        "content-type",
    )

    def check_settings(self, secrets: EndpointSecrets) -> None:
        super().check_settings(secrets)
        for secret in secrets.secrets:
            secret_key_bytes(secret)

    signature_header: ClassVar[str] = "webhook-signature"
    signature_encoding: ClassVar[str] = "base64"
    signature_separator: ClassVar[str] = " "
    signature_pair_separator: ClassVar[str] = ","
    signature_key: ClassVar[str] = SIGNATURE_VERSION
    max_signatures: ClassVar[int] = 16
    signed_id_header: ClassVar[str] = "webhook-id"
    timestamp_header: ClassVar[str] = "webhook-timestamp"
    signed_content: ClassVar[str] = "{id}.{timestamp}.{body}"
    default_event_type: ClassVar[str] = DEFAULT_EVENT_TYPE

    def signing_scheme(
        self, secrets: EndpointSecrets, headers: Headers | None = None
    ) -> HmacScheme:
        """The `webhook-` scheme, or the same with Svix's original `svix-` header names."""
        scheme = super().signing_scheme(secrets, headers)
        if headers is not None and _header_prefix(headers) == "svix-":
            return _SVIX_SCHEME
        return scheme

    def secret_key(self, secret: str, scheme: HmacScheme) -> bytes:
        return secret_key_bytes(secret)

    def new_event_id(self) -> str:
        return f"msg_{uuid.uuid4().hex}"

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        prefix = _header_prefix(delivery.headers)
        event_id = delivery.headers.get(f"{prefix}id", "").strip()
        if not event_id:
            raise MalformedPayload(f"The {prefix}id header is missing.")
        payload = json_payload(delivery.body)
        fields = payload if isinstance(payload, dict) else {}
        event_type = fields.get("type")
        if not isinstance(event_type, str) or not event_type.strip():
            # The spec's envelope (`type`, `timestamp`, `data`) is a recommendation: its own
            # test vector is `{"test": 2432232314}`.
            event_type = UNTYPED_EVENT_TYPE
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=_occurred_at(fields)
                or _header_epoch(delivery.headers.get(f"{prefix}timestamp", "")),
            )
        ]

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        now = time.time()
        values = {
            "event_type": event_type,
            "now_iso": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)),
            "now_ms": int(now * 1000),
            "email_id": str(uuid.uuid5(uuid.NAMESPACE_URL, event_id)),
            "user_suffix": signing.sha256_hex(event_id.encode("utf-8"))[:27],
        }
        # Resend's email events share one envelope, Clerk's user events another; the sample
        # for an exact type wins, else the family's.
        if event_type in sample_event_types(self.id):
            sample = event_type
        else:
            sample = "email.sent" if event_type.startswith("email.") else DEFAULT_EVENT_TYPE
        return dump_json(sample_render(self.id, sample, values))

    def generate_secret(self) -> str:
        """A new `whsec_` secret: 32 random bytes, base64-encoded, as Svix generates them."""
        return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(32)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the spec)."""
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EndpointSettingInvalid(
            "The Standard Webhooks secret is not base64 (optionally after `whsec_`).",
            field="secret",
        ) from exc
    if not key:
        raise EndpointSettingInvalid("The Standard Webhooks secret is empty.", field="secret")
    return key


def _header_prefix(headers: Headers) -> str:
    """`webhook-` unless only Svix's `svix-` headers are present."""
    for prefix in HEADER_PREFIXES:
        if f"{prefix}signature" in headers or f"{prefix}id" in headers:
            return prefix
    return HEADER_PREFIXES[0]


def _occurred_at(payload: dict[str, Any]) -> float | None:
    """The envelope's time: `timestamp` as ISO 8601 (Svix, the spec) or epoch milliseconds
    (Clerk), else `created_at` (Resend, ISO 8601)."""
    for key in ("timestamp", "created_at"):
        value = payload.get(key)
        moment = iso_to_epoch(value) if isinstance(value, str) else scaled_epoch_or_none(value)
        if moment is not None:
            return moment
    return None


def _header_epoch(raw: str) -> float | None:
    """The `webhook-timestamp` header (unix seconds, signed), when the body names no time."""
    text = raw.strip()
    return epoch_or_none(int(text)) if text.isdigit() and len(text) <= 12 else None


# Svix's original header names, otherwise the same scheme (declared above, so never None).
_SVIX_SCHEME: HmacScheme = dataclasses.replace(
    cast(HmacScheme, StandardWebhookProvider.scheme),
    header="svix-signature",
    id_header="svix-id",
    timestamp_header="svix-timestamp",
)
