"""Twilio webhooks and status callbacks (REST API version 2010-04-01).

Signing scheme: https://www.twilio.com/docs/usage/webhooks/webhooks-security — header
`X-Twilio-Signature`, the base64 HMAC-SHA1 (keyed with the account Auth Token) of the full URL
Twilio requested — scheme, host, path and query exactly as configured — followed, for form
posts, by every POST parameter sorted by name, each as `name + value` (values of a repeated
name sorted too, as Twilio's `RequestValidator` does). For JSON bodies Twilio adds a
`bodySHA256=<hex sha256 of the body>` query parameter to the URL and signs the URL alone; the
hash is checked against the body here. Because Twilio's own validators accept the URL with
and without the default port, both forms are tried. When a Webhooks Rule signs with a SharedKey,
Twilio adds `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`; that algorithm
is honoured (the SharedKey secret is then one of the endpoint's secrets). **No timestamp is
signed**, and `I-Twilio-Idempotency-Token` is not covered, so `tolerance_seconds` does not
apply. Ids built from signed body fields (`<sid>:<status>`) make a replay a duplicate; a
delivery that falls back to the idempotency token can be replayed with a fresh token and
verifies again. New Twilio endpoints therefore get a 24-hour duplicate-body window
(`WebhookEndpoint.duplicate_body_window_hours`): an identical body within it is acknowledged
and stored once; an older replay is still accepted, so handlers must stay idempotent.

The URL must be the public one Twilio used (`IncomingDelivery.url`, rebuilt by the receive
view from the public-base-URL setting or trusted forwarded headers when behind a proxy).

Delivery and rate limits: https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides
— Twilio waits 15 s for a response and retries only when connection overrides ask it to;
REST API concurrency is limited per account (https://www.twilio.com/docs/usage/rate-limits).

Event id and type (documented choice: status callbacks reuse the resource sid, so the status
is part of the id, and the type is namespaced so `failed` of a message and of a call differ):

| fields present | type | id |
| --- | --- | --- |
| `RecordingSid` + `RecordingStatus` | `recording.<status>` | `<RecordingSid>:<status>` |
| `TranscriptionSid` + `TranscriptionStatus` | `transcription.<status>` | `<sid>:<status>` |
| `MessageSid`/`SmsSid` + `MessageStatus`/`SmsStatus` | `message.<status>` | `<sid>:<status>` |
| `CallSid` + `CallStatus` | `call.<status>` | `<CallSid>:<status>:<discriminator>` |
| `EventType` (Conversations) | the `EventType` | `<first sid>:<EventType>` |

A call's discriminator tells apart requests about one call in one status: a status callback's
`<CallbackSource>-<SequenceNumber>` (`call-progress-events-0`), else (the voice webhook, which
also says `ringing`, and `<Gather>`/`<Dial>` action requests) `request-` and a hash of the
signed parameters — so the voice webhook and its `ringing` status callback are two events,
while a retry, which repeats its parameters, keeps its id. occurred_at = the `Timestamp`
parameter (status callbacks; RFC 2822), an Event Streams element's `time`, else None.
Samples: `webhooks/samples/twilio/`.

A delivery matching none of these gets type `webhook` and, as id, Twilio's
`I-Twilio-Idempotency-Token` header (same on retries) or else the SHA-256 of the body. JSON
object bodies use the same fields; a JSON array (Event Streams CloudEvents) gives one event
per element (`id`, `type`). The reply is empty TwiML (`<Response/>`, text/xml), which tells
Twilio to do nothing further.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from webhooks import signing
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    WebhookConfigurationError,
)
from webhooks.providers.base import (
    EndpointSecrets,
    ImmediateResponse,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    epoch_or_none,
    is_form_content_type,
    iso_to_epoch,
    json_payload,
)
from webhooks.providers.hmac_base import (
    HmacScheme,
    HmacSignedProvider,
    ProvidedSignatures,
    SampleDelivery,
    SignedContent,
)
from webhooks.providers.samples import sample_event_types, sample_render

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
BODY_HASH_PARAMETER = "bodySHA256"
ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
API_VERSION = "2010-04-01"
DEFAULT_EVENT_TYPE = "message.delivered"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'

# (sid fields, status fields, type namespace), most specific first.
_RESOURCES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (("RecordingSid",), ("RecordingStatus",), "recording"),
    (("TranscriptionSid",), ("TranscriptionStatus",), "transcription"),
    (("MessageSid", "SmsSid"), ("MessageStatus", "SmsStatus"), "message"),
    (("CallSid",), ("CallStatus",), "call"),
)
_SID_FIELDS = (
    "MessageSid",
    "ConversationSid",
    "ParticipantSid",
    "CallSid",
    "ChannelSid",
    "Sid",
)


class TwilioWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "twilio"
    name: ClassVar[str] = "Twilio"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    signs_url: ClassVar[bool] = True
    stored_headers: ClassVar[tuple[str, ...]] = (
        "i-twilio-idempotency-token",
        "x-home-region",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = SIGNATURE_HEADER
    signature_encoding: ClassVar[str] = "base64"
    digest: ClassVar[str | None] = "sha1"
    default_event_type: ClassVar[str] = DEFAULT_EVENT_TYPE
    content_type: ClassVar[str] = FORM_CONTENT_TYPE

    def provided_signatures(
        self, delivery: IncomingDelivery, scheme: HmacScheme
    ) -> ProvidedSignatures:
        """The signature, once the body matches the URL's `bodySHA256` (JSON bodies)."""
        provided = super().provided_signatures(delivery, scheme)
        if not delivery.url:
            raise WebhookConfigurationError(
                "Twilio signs the public URL; the delivery was passed without one."
            )
        body_hash = _body_hash_parameter(delivery.url)
        if body_hash is not None and not signing.text_matches(
            signing.sha256_hex(delivery.body), body_hash
        ):
            raise SignatureInvalid(f"The {BODY_HASH_PARAMETER} does not match the body.")
        return provided

    def signed_message(self, content: SignedContent, scheme: HmacScheme) -> bytes:
        """The URL followed by every POST parameter sorted by name (none for JSON bodies)."""
        return _signed_string(content.url, _signed_params(content))

    def expected_signatures(
        self, keys: Sequence[bytes], content: SignedContent, scheme: HmacScheme
    ) -> list[bytes]:
        """Every URL variant (default port added and removed), with the algorithm the
        signature-settings header names (HMAC-SHA1 when absent)."""
        params = _signed_params(content)
        messages = [_signed_string(url, params) for url in _url_variants(content.url)]
        algorithm = _algorithm(content.headers.get(SIGNATURE_SETTINGS_HEADER, ""))
        return signing.hmac_digests(keys, messages, algorithm)

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        if _body_hash_parameter(delivery.url) is not None or _is_json(delivery):
            return _parse_json(delivery)
        params = _form_params(delivery)
        fields = {name: values[-1] for name, values in params.items() if values}
        if not fields:
            raise MalformedPayload("The Twilio delivery has no parameters.")
        event_id, event_type = _identify(fields, delivery)
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=fields,
                occurred_at=_occurred_at(fields),
            )
        ]

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        return ImmediateResponse(status=200, body=EMPTY_TWIML, content_type="text/xml")

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        json_body = _body_hash_parameter(sample.url) is not None
        return {
            IDEMPOTENCY_HEADER: f"{sample.timestamp}-{signing.sha256_hex(sample.body)[:16]}",
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/json" if json_body else FORM_CONTENT_TYPE,
        }

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        namespace, _, status = event_type.partition(".")
        digest = signing.sha256_hex(event_id.encode("utf-8"))
        if event_type in sample_event_types(self.id):
            sample = event_type
        elif namespace == "call":
            sample = "call.completed"
        elif status in ("failed", "undelivered"):
            sample = "message.failed"
        else:
            sample = DEFAULT_EVENT_TYPE
        values = {
            "account_sid": "AC" + signing.sha256_hex(b"liaison-sample-account")[:32],
            "api_version": API_VERSION,
            "sid_suffix": digest[:32],
            "status": status or sample.partition(".")[2],
            "timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        }
        fields = sample_render(self.id, sample, values)
        return urlencode(sorted(fields.items())).encode("ascii")


def _algorithm(settings: str) -> str:
    """The HMAC named by the signature-settings header (absent: Auth Token HMAC-SHA1)."""
    if len(settings) > signing.MAX_SIGNATURE_HEADER_LENGTH:
        raise SignatureInvalid(f"The {SIGNATURE_SETTINGS_HEADER} header is too long.")
    for name, value in signing.parse_signature_elements(settings):
        if name == "algorithm" and value:
            try:
                return ALGORITHMS[value.upper()]
            except KeyError:
                raise SignatureInvalid(
                    f"The {SIGNATURE_SETTINGS_HEADER} algorithm is not supported."
                ) from None
    return "sha1"


def _body_hash_parameter(url: str) -> str | None:
    try:
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        return None
    values = query.get(BODY_HASH_PARAMETER)
    return values[0] if values else None


def _url_variants(url: str) -> list[str]:
    """The URL as given, with the default port added and removed (Twilio signs either)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookConfigurationError(
            "The public URL of the Twilio endpoint is invalid."
        ) from exc
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    bare_host = host if port is None else host.rsplit(":", 1)[0]
    default_port = 443 if parts.scheme == "https" else 80
    without_port = parts._replace(netloc=userinfo + bare_host).geturl()
    with_port = parts._replace(netloc=f"{userinfo}{bare_host}:{port or default_port}").geturl()
    variants = [url]
    for variant in (without_port, with_port):
        if variant not in variants:
            variants.append(variant)
    return variants


def _signed_string(url: str, params: Mapping[str, Sequence[str]]) -> bytes:
    pieces = [url]
    for name in sorted(set(params)):
        for value in sorted(set(params[name])):
            pieces.append(name + value)
    return "".join(pieces).encode("utf-8", "replace")


def _signed_params(content: SignedContent) -> Mapping[str, Sequence[str]]:
    """The POST parameters a signature covers: none when the URL carries `bodySHA256` (JSON
    bodies), else the decoded form (from the view, or the raw form body decoded here)."""
    if _body_hash_parameter(content.url) is not None:
        return {}
    if content.form:
        return content.form
    if not content.body or not is_form_content_type(content.content_type):
        return {}
    return _parse_form_body(content.body)


def _is_json(delivery: IncomingDelivery) -> bool:
    content_type = delivery.content_type or delivery.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _form_params(delivery: IncomingDelivery) -> Mapping[str, Sequence[str]]:
    """The POST parameters: the view's decoded form, else the raw form body decoded here."""
    if delivery.form:
        return delivery.form
    content_type = delivery.content_type or delivery.headers.get("content-type", "")
    if not delivery.body or content_type.split(";", 1)[0].strip().lower() != FORM_CONTENT_TYPE:
        return {}
    return _parse_form_body(delivery.body)


def _parse_form_body(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload("The form body is not valid UTF-8 form data.") from exc


def _identify(fields: Mapping[str, Any], delivery: IncomingDelivery) -> tuple[str, str]:
    for sid_fields, status_fields, namespace in _RESOURCES:
        sid = _first(fields, sid_fields)
        status = _first(fields, status_fields)
        if sid and status:
            event_id = f"{sid}:{status}"
            if namespace == "call":
                event_id = f"{event_id}:{_call_discriminator(fields)}"
            return event_id, f"{namespace}.{status}"
    event_type = _first(fields, ("EventType",))
    if event_type:
        sid = _first(fields, _SID_FIELDS) or _fallback_id(delivery)
        return f"{sid}:{event_type}", event_type
    return _fallback_id(delivery), "webhook"


def _call_discriminator(fields: Mapping[str, Any]) -> str:
    """What tells apart two requests about one call in one status.

    A call's status callbacks carry `CallbackSource` and a `SequenceNumber` that counts up per
    callback; the voice webhook (the TwiML request, which also says `ringing`) and the
    `<Gather>`/`<Dial>` action requests carry neither, and differ in their signed parameters
    (`Digits`, `DialCallStatus`, …). A retry of one request repeats its parameters, so it
    keeps its id.
    """
    sequence = _first(fields, ("SequenceNumber",))
    if sequence:
        return f"{_first(fields, ('CallbackSource',)) or 'callback'}-{sequence}"
    pairs = sorted((str(name), str(value)) for name, value in fields.items())
    return "request-" + signing.sha256_hex(dump_json(pairs))[:16]


def _occurred_at(fields: Mapping[str, Any]) -> float | None:
    """The `Timestamp` parameter of status callbacks (RFC 2822, `Tue, 03 Mar 2026 10:00:00
    +0000`); None when absent or unreadable (messages' callbacks and the voice webhook carry
    none)."""
    value = _first(fields, ("Timestamp",))
    if not value or len(value) > 64:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return iso_to_epoch(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return epoch_or_none(moment.timestamp())


def _first(fields: Mapping[str, Any], names: Sequence[str]) -> str:
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _fallback_id(delivery: IncomingDelivery) -> str:
    token = delivery.headers.get(IDEMPOTENCY_HEADER, "").strip()
    return token or signing.sha256_hex(delivery.body)


def _parse_json(delivery: IncomingDelivery) -> list[ParsedEvent]:
    payload = json_payload(delivery.body)
    if isinstance(payload, dict):
        event_id, event_type = _identify(payload, delivery)
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=_occurred_at(payload),
            )
        ]
    if isinstance(payload, list) and payload:
        events = []
        for element in payload:
            if not isinstance(element, dict):
                raise MalformedPayload("An element of the batch is not a JSON object.")
            event_id = _first(element, ("id",))
            event_type = _first(element, ("type",))
            if not event_id or not event_type:
                raise MalformedPayload("An element of the batch has no `id` or `type`.")
            events.append(
                ParsedEvent(
                    event_id=event_id,
                    event_type=event_type,
                    body=dump_json(element),
                    payload=element,
                    occurred_at=iso_to_epoch(element.get("time")),
                )
            )
        return events
    raise MalformedPayload("The JSON body is neither an object nor a non-empty array.")
