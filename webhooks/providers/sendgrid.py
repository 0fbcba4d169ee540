"""SendGrid (Twilio SendGrid) Signed Event Webhook — Web API v3.

Signing scheme: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
— SendGrid signs `<timestamp><raw body>` with ECDSA P-256 / SHA-256 using a key pair it keeps;
headers `X-Twilio-Email-Event-Webhook-Signature` (base64 DER signature) and
`X-Twilio-Email-Event-Webhook-Timestamp` (unix seconds). The endpoint stores the
*verification key* shown in SendGrid's Mail Settings (`EndpointSecrets.public_key`, base64 DER
as SendGrid shows it, or PEM); `secrets` are not used. The timestamp is checked against the
endpoint's tolerance in both directions.

Delivery and rate limits: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
— events are POSTed in batches (a JSON array; up to 768 KB or a few seconds' worth) and retried
for 24 hours on a non-2xx; the v3 Web API is limited per endpoint (typically 600 requests per
minute, https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits).

Each array element becomes its own event: id `sg_event_id`, type `event` (`processed`,
`delivered`, `open`, `bounce`, …), occurred_at `timestamp`, body = the element re-serialised as
compact JSON (the signature covers the whole batch, which is not stored per element).
`sign()` needs the private key, which only SendGrid holds: tests and `send_test_webhook` pass
one in `options["test_private_key"]` (PEM), otherwise it raises `WebhookConfigurationError`.
Samples: `webhooks/samples/sendgrid/` (a batch per type, as SendGrid's event docs show them).
"""

from __future__ import annotations

import time
from typing import ClassVar

from webhooks import signing
from webhooks.exceptions import (
    EndpointSettingInvalid,
    MalformedPayload,
    SignatureInvalid,
    WebhookConfigurationError,
)
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    dump_json,
    epoch_or_none,
    json_payload,
    required_text,
)
from webhooks.providers.samples import sample_event_types, sample_render

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TEST_PRIVATE_KEY_OPTION = "test_private_key"
DEFAULT_EVENT_TYPE = "delivered"


class SendGridWebhookProvider(WebhookProvider):
    id: ClassVar[str] = "sendgrid"
    name: ClassVar[str] = "SendGrid"
    secret_kind: ClassVar[str] = "public_key"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-twilio-email-event-webhook-timestamp",
        "user-agent",
        "content-type",
    )

    known_options: ClassVar[frozenset[str]] = frozenset({TEST_PRIVATE_KEY_OPTION})

    def check_settings(self, secrets: EndpointSecrets) -> None:
        super().check_settings(secrets)
        if secrets.public_key.strip():
            _public_key(secrets)
        private_pem = secrets.options.get(TEST_PRIVATE_KEY_OPTION)
        if private_pem is not None:
            try:
                signing.load_ec_private_key(str(private_pem))
            except WebhookConfigurationError as exc:
                raise EndpointSettingInvalid(
                    str(exc), field="options", option=TEST_PRIVATE_KEY_OPTION
                ) from exc

    def check_configuration(self, secrets: EndpointSecrets) -> None:
        self.check_settings(secrets)
        _public_key(secrets)

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        key = _public_key(secrets)
        header = signing.required_header(delivery.headers, SIGNATURE_HEADER)
        raw_timestamp = signing.required_header(delivery.headers, TIMESTAMP_HEADER)
        timestamp = signing.parse_timestamp(raw_timestamp, header=TIMESTAMP_HEADER)
        signature = signing.base64_to_bytes(header)
        message = raw_timestamp.encode("ascii") + delivery.body
        if signature is None or not signing.ecdsa_verify(key, signature, message):
            raise SignatureInvalid(f"The {SIGNATURE_HEADER} signature does not match.")
        signing.check_timestamp(
            timestamp, now=delivery.received_at, tolerance_seconds=secrets.tolerance_seconds
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        batch = json_payload(delivery.body)
        if not isinstance(batch, list) or not batch:
            raise MalformedPayload("The body is not a non-empty JSON array of events.")
        events = []
        for element in batch:
            if not isinstance(element, dict):
                raise MalformedPayload("An element of the batch is not a JSON object.")
            events.append(
                ParsedEvent(
                    event_id=required_text(element, "sg_event_id", what="`sg_event_id`"),
                    event_type=required_text(element, "event", what="event type (`event`)"),
                    body=dump_json(element),
                    payload=element,
                    occurred_at=epoch_or_none(element.get("timestamp")),
                )
            )
        return events

    def event_subject(self, event: ParsedEvent) -> str:
        """The message: `sg_message_id` without the filter suffix SendGrid appends after the
        first `.` (what the send response's `X-Message-Id` names), else Liaison's own
        `liaison_message_id` custom argument."""
        payload = event.payload
        if not isinstance(payload, dict):
            return ""
        message_id = payload.get("sg_message_id")
        if isinstance(message_id, str) and message_id:
            return message_id.split(".", 1)[0]
        own = payload.get("liaison_message_id")
        if isinstance(own, int) and not isinstance(own, bool):
            own = str(own)
        return own if isinstance(own, str) else ""

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
        private_pem = secrets.options.get(TEST_PRIVATE_KEY_OPTION)
        if not isinstance(private_pem, str) or not private_pem.strip():
            raise WebhookConfigurationError(
                "SendGrid signs with a private key only SendGrid holds; to send a test "
                f"delivery, set the endpoint option {TEST_PRIVATE_KEY_OPTION!r} to a PEM EC "
                "private key whose public key is the endpoint's public key."
            )
        private_key = signing.load_ec_private_key(private_pem)
        signature = signing.ecdsa_sign(private_key, str(timestamp).encode("ascii") + body)
        return SignedRequest(
            body=body,
            headers={
                SIGNATURE_HEADER: signing.bytes_to_base64(signature),
                TIMESTAMP_HEADER: str(timestamp),
                "User-Agent": "SendGrid Event API",
                "Content-Type": "application/json",
            },
            content_type="application/json",
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        message_id = f"{signing.sha256_hex(event_id.encode('utf-8'))[:22]}.filterdrecv-1-1"
        values = {
            "event_id": event_id,
            "event_type": event_type,
            "now": int(time.time()),
            "message_id": message_id,
            "smtp_id": message_id[:22],
        }
        # A type without a sample of its own is a one-element batch shaped like `processed`.
        sample = event_type if event_type in sample_event_types(self.id) else "processed"
        return dump_json(sample_render(self.id, sample, values))


def _public_key(secrets: EndpointSecrets) -> signing.EcPublicKey:
    if not secrets.public_key.strip():
        raise WebhookConfigurationError("The sendgrid endpoint has no public key.")
    try:
        return signing.load_ec_public_key(secrets.public_key)
    except WebhookConfigurationError as exc:
        raise EndpointSettingInvalid(
            "The public key is not a PEM or base64 DER ECDSA public key (as SendGrid's Mail "
            "Settings show it).",
            field="public_key",
        ) from exc
