"""Postmark webhooks (bounce, delivery, open, click, spam complaint, subscription change).

Postmark signs nothing. Its documented protection is HTTP Basic authentication on the webhook
URL: https://postmarkapp.com/developer/webhooks/webhooks-overview ("Protecting your webhook":
a user name and password in the webhook URL, before the host) — Postmark
then sends `Authorization: Basic base64(user:password)` with every POST. The endpoint's
secret is that `username:password` pair (several active secrets: any one is accepted, so the
pair can be rotated); the decoded credentials are compared with every secret in constant time
(`webhooks.signing.signature_matches`). A missing or wrong `Authorization` header is refused
with 401. Postmark also publishes the IP addresses its webhooks come from
(https://postmarkapp.com/support/article/800-ips-for-firewalls#webhooks); restrict them at the
proxy or firewall: the receive contract gives a provider no remote address.

There is no timestamp, so captured requests replay; every record type names its message and a
moment, so a replay has the same event id and is stored once.

API version: Postmark's webhooks have one unversioned JSON format, one record per POST
(no batches), documented per type at https://postmarkapp.com/developer/webhooks/bounce-webhook
(and `delivery-webhook`, `open-tracking-webhook`, `click-webhook`, `spam-complaint-webhook`,
`subscription-change-webhook`). Postmark retries a non-2xx answer for up to about 12 hours
(bounce/inbound: more often); API rate limits do not apply to webhooks.

What is parsed: type `RecordType` (`Bounce`, `Delivery`, `Open`, `Click`, `SpamComplaint`,
`SubscriptionChange`); id `<RecordType>:<ID>` when the record has Postmark's numeric `ID`
(bounces and spam complaints), else `<RecordType>:<MessageID>:<16 hex of SHA-256 of recipient
and time>` (a message has one delivery per recipient and may be opened or clicked many
times; the recipient is hashed so no address ends up in an id); occurred_at `BouncedAt`,
`DeliveredAt`, `ReceivedAt` or `ChangedAt`. Samples: `webhooks/samples/postmark/`.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from webhooks import signing
from webhooks.exceptions import (
    EndpointSettingInvalid,
    SignatureInvalid,
    SignatureMissing,
)
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    dump_json,
    epoch_to_iso,
    iso_to_epoch,
    json_object,
    required_text,
)
from webhooks.providers.samples import sample_render

AUTHORIZATION_HEADER = "Authorization"
DEFAULT_EVENT_TYPE = "Delivery"
# When each record type says its event happened.
TIME_FIELDS = ("BouncedAt", "DeliveredAt", "ReceivedAt", "ChangedAt")


class PostmarkCredentialsMissing(SignatureMissing):
    """No Basic credentials: 401, as an HTTP server asks for authentication."""

    status_code = 401
    reason = "credentials_missing"


class PostmarkCredentialsInvalid(SignatureInvalid):
    status_code = 401
    reason = "credentials_invalid"


class PostmarkWebhookProvider(WebhookProvider):
    id: ClassVar[str] = "postmark"
    name: ClassVar[str] = "Postmark"
    # We choose the credentials and put them in the URL given to Postmark.
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")
    # No signed timestamp or id, but the event id comes from the record itself, so a replay
    # of captured bytes is the same event (stored once): no duplicate-body window needed.
    signs_timestamp_or_id: ClassVar[bool] = False

    def generate_secret(self) -> str:
        from secrets import token_urlsafe

        return f"postmark:{token_urlsafe(24)}"

    def check_settings(self, secrets: EndpointSecrets) -> None:
        super().check_settings(secrets)
        for secret in secrets.secrets:
            user, sep, password = secret.partition(":")
            if not sep or not user or not password:
                raise EndpointSettingInvalid(
                    "A Postmark secret is the `username:password` pair of the webhook URL's "
                    "Basic credentials (both parts non-empty).",
                    field="secret",
                )

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        expected = [
            secret.encode("utf-8")
            for secret in signing.require_secrets(secrets.secrets, provider=self.id)
        ]
        header = delivery.headers.get(AUTHORIZATION_HEADER, "").strip()
        if not header:
            raise PostmarkCredentialsMissing("The Authorization header (Basic) is missing.")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise PostmarkCredentialsInvalid("The Authorization header is not Basic credentials.")
        provided = signing.base64_to_bytes(encoded.strip())
        if not signing.signature_matches(expected, [provided]):
            raise PostmarkCredentialsInvalid("The Basic credentials do not match.")

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        record_type = required_text(payload, "RecordType", what="record type (`RecordType`)")
        return [
            ParsedEvent(
                event_id=_event_id(record_type, payload),
                event_type=record_type,
                body=delivery.body,
                payload=payload,
                occurred_at=_occurred_at(payload),
            )
        ]

    def event_subject(self, event: ParsedEvent) -> str:
        payload = event.payload if isinstance(event.payload, dict) else {}
        value = payload.get("MessageID")
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
        secret = signing.require_secrets(secrets.secrets, provider=self.id)[0]
        credentials = signing.bytes_to_base64(secret.encode("utf-8"))
        return SignedRequest(
            body=body,
            headers={
                AUTHORIZATION_HEADER: f"Basic {credentials}",
                "User-Agent": "Postmark",
                "Content-Type": "application/json",
            },
            content_type="application/json",
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        # A record type without a sample raises WebhookConfigurationError naming those with one.
        event_type = event_type or DEFAULT_EVENT_TYPE
        digest = signing.sha256_hex(event_id.encode("utf-8"))
        values = {
            # Postmark's MessageID is a UUID; derive one from the event id so samples differ.
            "message_id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-"
            f"{digest[20:32]}",
            "record_id": int(digest[:12], 16),
            "now_iso": epoch_to_iso(time.time()),
        }
        return dump_json(sample_render(self.id, event_type, values))


def _event_id(record_type: str, payload: dict[str, Any]) -> str:
    record_id = payload.get("ID")
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        return f"{record_type}:{record_id}"
    message_id = required_text(payload, "MessageID", what="message id (`MessageID`)")
    moment = next((str(payload[name]) for name in TIME_FIELDS if payload.get(name)), "")
    recipient = str(payload.get("Recipient") or payload.get("Email") or "")
    digest = signing.sha256_hex(f"{recipient}\n{moment}".encode())[:16]
    return f"{record_type}:{message_id}:{digest}"


def _occurred_at(payload: dict[str, Any]) -> float | None:
    for name in TIME_FIELDS:
        moment = iso_to_epoch(payload.get(name))
        if moment is not None:
            return moment
    return None
