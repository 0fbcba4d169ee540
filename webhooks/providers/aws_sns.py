"""AWS SNS HTTP/S subscriptions (SES bounce, complaint and delivery notifications arrive this way).

Signing scheme: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
and …/sns-verify-signature-of-message-verify-message-signature.html — the JSON body carries
`Signature` (base64), `SignatureVersion` (`1`: SHA1withRSA, `2`: SHA256withRSA) and
`SigningCertURL`. The signed string is built from the body's own fields, in this order, each
key and each value followed by a newline:

- `Notification`: Message, MessageId, Subject (only when present), Timestamp, TopicArn, Type;
- `SubscriptionConfirmation` / `UnsubscribeConfirmation`: Message, MessageId, SubscribeURL,
  Timestamp, Token, TopicArn, Type.

The certificate URL is checked against the allow-list *before* any network call and fetched
once (see `webhooks.providers.sns_certificates`). `Timestamp` (ISO 8601, the publish time) is
checked against the endpoint's `tolerance_seconds` in both directions before the certificate
is fetched; SNS's default HTTP retry policy stays within the default 300 s — raise the
tolerance when a custom delivery policy retries for longer. The `MessageId` is signed, so a
replay is the same event and is stored once. Raw message delivery must be off (a raw message
carries no signature and is refused). The endpoint stores no secret or key.

API version: the SNS HTTP/S JSON formats (https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
`http-subscription-confirmation-json.html`, `http-unsubscribe-confirmation-json.html`), SNS
API 2010-03-31; SES notification contents
https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html. Bodies come as
`Content-Type: text/plain; charset=UTF-8`. SNS retries a non-2xx answer per the
subscription's delivery policy (default: 3 retries over about a minute); its API has
per-account TPS quotas (https://docs.aws.amazon.com/general/latest/gr/sns.html).

What is parsed (one event per POST): id `MessageId`; type = the `notificationType` (or SES
event publishing's `eventType`) of an SES message in `Message` (`Bounce`, `Complaint`,
`Delivery`, …), else the SNS `Type` (`Notification`, `SubscriptionConfirmation`,
`UnsubscribeConfirmation`); occurred_at `Timestamp`. Handlers get the SNS envelope (the SES
message is `json.loads(payload["Message"])`). A `SubscriptionConfirmation` is confirmed by the
built-in handler (`webhooks.handlers.aws_sns`, a GET of its allow-listed `SubscribeURL`)
unless the endpoint's `auto_confirm` option or `WEBHOOKS_SNS_AUTO_CONFIRM` says a staff member
does it (admin action "Confirm SNS subscription").

Options: `topic_arns` (list: only these topics are accepted, others refused before any
network call), `auto_confirm` (bool), and for test deliveries only `test_private_key` (PEM
RSA key) with `test_signing_cert_url` (where its certificate is served). Samples:
`webhooks/samples/aws_sns/`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, ClassVar

from webhooks import signing
from webhooks.exceptions import (
    EndpointSettingInvalid,
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
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
from webhooks.providers.sns_certificates import (
    sns_certificate_public_key,
    sns_sign,
    sns_signature_verify,
    sns_url_check,
)

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
MESSAGE_TYPES = frozenset({NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION})
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
TYPE_HEADER = "x-amz-sns-message-type"
CONTENT_TYPE = "text/plain; charset=UTF-8"
TOPIC_ARNS_OPTION = "topic_arns"
AUTO_CONFIRM_OPTION = "auto_confirm"
TEST_SIGNER_OPTION = "test_private_key"
TEST_CERT_URL_OPTION = "test_signing_cert_url"
DEFAULT_EVENT_TYPE = NOTIFICATION
# An SES message in `Message` larger than this is not looked into for its type.
_MAX_INNER_JSON = 256 * 1024


class AwsSnsWebhookProvider(WebhookProvider):
    id: ClassVar[str] = "aws_sns"
    name: ClassVar[str] = "AWS SNS"
    # Nothing to store: the key comes from AWS's signing certificate.
    secret_kind: ClassVar[str] = "none"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-amz-sns-message-type",
        "x-amz-sns-message-id",
        "x-amz-sns-topic-arn",
        "x-amz-sns-subscription-arn",
        "user-agent",
        "content-type",
    )
    known_options: ClassVar[frozenset[str]] = frozenset(
        {TOPIC_ARNS_OPTION, AUTO_CONFIRM_OPTION, TEST_SIGNER_OPTION, TEST_CERT_URL_OPTION}
    )

    def check_settings(self, secrets: EndpointSecrets) -> None:
        super().check_settings(secrets)
        options = secrets.options
        topics = options.get(TOPIC_ARNS_OPTION)
        if topics is not None and (
            not isinstance(topics, list)
            or not all(isinstance(t, str) and t.startswith("arn:") for t in topics)
        ):
            raise EndpointSettingInvalid(
                f"The {TOPIC_ARNS_OPTION!r} option must be a list of topic ARNs (arn:…).",
                field="options",
                option=TOPIC_ARNS_OPTION,
            )
        if AUTO_CONFIRM_OPTION in options and not isinstance(options[AUTO_CONFIRM_OPTION], bool):
            raise EndpointSettingInvalid(
                f"The {AUTO_CONFIRM_OPTION!r} option must be true or false.",
                field="options",
                option=AUTO_CONFIRM_OPTION,
            )
        for name in (TEST_SIGNER_OPTION, TEST_CERT_URL_OPTION):
            if name in options and not isinstance(options[name], str):
                raise EndpointSettingInvalid(
                    f"The {name!r} option must be a string.", field="options", option=name
                )

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        message = json_object(delivery.body)
        kind = _message_type(message, delivery)
        version = message.get("SignatureVersion")
        if version not in ("1", "2"):
            raise SignatureInvalid("The SignatureVersion is neither 1 nor 2.")
        for name in ("Signature", "SigningCertURL"):
            if not isinstance(message.get(name), str) or not message[name]:
                raise SignatureMissing(f"The message has no {name} (raw delivery is refused).")
        signature = signing.base64_to_bytes(message["Signature"])
        if not signature:
            raise SignatureInvalid("The Signature is not base64.")
        cert_url = sns_url_check(message["SigningCertURL"], what="SigningCertURL", require_pem=True)
        _check_topic(message, secrets.options)
        published = iso_to_epoch(message.get("Timestamp"))
        if published is None:
            raise TimestampOutOfTolerance("The Timestamp is not an ISO 8601 time.")
        signing.check_timestamp(
            int(published), now=delivery.received_at, tolerance_seconds=secrets.tolerance_seconds
        )
        canonical = canonical_message(message, kind)
        key = sns_certificate_public_key(cert_url, now=delivery.received_at)
        if not sns_signature_verify(key, signature=signature, message=canonical, version=version):
            raise SignatureInvalid("The SNS Signature does not match.")

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        message = json_object(delivery.body)
        kind = _message_type(message, delivery)
        event_type = _ses_type(message.get("Message")) if kind == NOTIFICATION else None
        return [
            ParsedEvent(
                event_id=required_text(message, "MessageId", what="message id (`MessageId`)"),
                event_type=event_type or kind,
                body=delivery.body,
                payload=message,
                occurred_at=iso_to_epoch(message.get("Timestamp")),
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
        private_pem = secrets.options.get(TEST_SIGNER_OPTION)
        cert_url = secrets.options.get(TEST_CERT_URL_OPTION)
        if not isinstance(private_pem, str) or not isinstance(cert_url, str):
            raise WebhookConfigurationError(
                "SNS signs with a key only AWS holds; to send a test delivery, set the endpoint "
                f"options {TEST_SIGNER_OPTION!r} (PEM RSA key) and {TEST_CERT_URL_OPTION!r}"
                " (an allowed URL serving its certificate)."
            )
        message = json_object(body)
        kind = _message_type(message, None)
        version = str(message.get("SignatureVersion") or "2")
        # `timestamp` is when the message is signed: SNS's Timestamp (publish time, ms).
        published = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))
        message.update(SignatureVersion=version, SigningCertURL=cert_url, Timestamp=published)
        signature = sns_sign(private_pem, message=canonical_message(message, kind), version=version)
        message["Signature"] = signing.bytes_to_base64(signature)
        headers = {
            "x-amz-sns-message-type": kind,
            "x-amz-sns-message-id": str(message.get("MessageId", "")),
            "x-amz-sns-topic-arn": str(message.get("TopicArn", "")),
            "User-Agent": "Amazon Simple Notification Service Agent",
            "Content-Type": CONTENT_TYPE,
        }
        return SignedRequest(body=dump_json(message), headers=headers, content_type=CONTENT_TYPE)

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        values = {
            "message_id": str(uuid.uuid5(uuid.NAMESPACE_URL, event_id)),
            "ses_message_id": signing.sha256_hex(event_id.encode("utf-8"))[:60],
            "token": signing.sha256_hex(f"token:{event_id}".encode()),
            "now_iso": epoch_to_iso(time.time()),
        }
        message = sample_render(self.id, event_type, values)
        if isinstance(message.get("Message"), dict):  # an SES message, sent as a JSON string
            message["Message"] = dump_json(message["Message"]).decode("utf-8")
        return dump_json(message)


def canonical_message(message: dict[str, Any], kind: str) -> bytes:
    """The string SNS signs: each present key of the type's list and its value, newline-ended."""
    keys = NOTIFICATION_KEYS if kind == NOTIFICATION else CONFIRMATION_KEYS
    lines: list[str] = []
    for key in keys:
        value = message.get(key)
        if value is None and key == "Subject":
            continue
        if not isinstance(value, str):
            raise MalformedPayload(f"The SNS message has no {key} string.")
        lines.append(f"{key}\n{value}\n")
    return "".join(lines).encode("utf-8")


def _message_type(message: dict[str, Any], delivery: IncomingDelivery | None) -> str:
    kind = message.get("Type")
    if kind not in MESSAGE_TYPES:
        raise MalformedPayload("The body is not an SNS message (unknown or missing `Type`).")
    header = delivery.headers.get(TYPE_HEADER) if delivery is not None else None
    if header is not None and header.strip() != kind:
        raise MalformedPayload(f"The {TYPE_HEADER} header does not match the message Type.")
    return str(kind)


def _check_topic(message: dict[str, Any], options: Any) -> None:
    allowed = options.get(TOPIC_ARNS_OPTION)
    if allowed is None:
        return
    topic = message.get("TopicArn")
    if not isinstance(topic, str) or not any(signing.text_matches(a, topic) for a in allowed):
        raise SignatureInvalid(
            "The TopicArn is not one this endpoint accepts.", reason="topic_not_allowed"
        )


def _ses_type(inner: Any) -> str | None:
    """`notificationType` / `eventType` of an SES message carried as JSON text, else None."""
    if not isinstance(inner, str) or len(inner) > _MAX_INNER_JSON:
        return None
    if not inner.lstrip().startswith("{"):
        return None
    try:
        ses = json.loads(inner)
    except (ValueError, RecursionError):
        return None
    if not isinstance(ses, dict) or not isinstance(ses.get("mail"), dict):
        return None
    value = ses.get("notificationType") or ses.get("eventType")
    return value if isinstance(value, str) and value else None
