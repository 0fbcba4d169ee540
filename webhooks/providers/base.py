"""The provider contract: what differs between webhook senders, and nothing else.

The receive view (webhooks/views.py) runs the whole flow — size check, endpoint lookup,
`provider.verify()`, `provider.parse()`, one insert per event, enqueue, respond. A provider
module only declares how its deliveries are signed and how they name their events.

Values passed between layers are frozen dataclasses:

- `IncomingDelivery`: the raw request as received (body bytes, headers, public URL, form).
- `EndpointSecrets`: what the endpoint stores to verify (decrypted secrets, public key,
  tolerance, per-endpoint options such as the generic HMAC header).
- `ParsedEvent`: one event of a delivery (a SendGrid batch gives several); its id and type
  are checked on construction (non-empty, at most 255 characters, no control characters), so
  a sender can never make the insert fail.

The module also holds the small payload helpers every provider shares (`json_object`,
`required_text`, `epoch_or_none`, `iso_to_epoch`, `dump_json`); the signature mechanics live
in `webhooks/signing.py`.
"""

from __future__ import annotations

import json
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs

from webhooks.exceptions import EndpointSettingInvalid, MalformedPayload


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
    # `provider.prepare_options(options)`, computed once when the endpoint configuration is
    # loaded and cached with it (None: the provider parses `options` itself).
    prepared_options: Any = None


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

    def __post_init__(self) -> None:
        # Ids and types come from the sender: refuse what no column can store (NUL, surrogates,
        # over-long values) here, as a 4xx, instead of as a failed insert (5xx, retried forever).
        _check_identifier(self.event_id, what="event id")
        _check_identifier(self.event_type, what="event type")


MAX_IDENTIFIER_LENGTH = 255
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _check_identifier(value: object, *, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"The {what} is missing.")
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise MalformedPayload(f"The {what} is longer than {MAX_IDENTIFIER_LENGTH} characters.")
    if _UNSTORABLE.search(value):
        raise MalformedPayload(f"The {what} contains control characters.")


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
    # Whether the signature covers the public URL (Twilio): only then does the receive view
    # rebuild `IncomingDelivery.url`, which costs a little on every delivery.
    signs_url: ClassVar[bool] = False
    # The keys `EndpointSecrets.options` may hold for this provider; any other key is refused
    # when an endpoint is saved (a typo would otherwise be ignored silently).
    known_options: ClassVar[frozenset[str]] = frozenset()
    # Whether the signature covers a timestamp or a delivery id. When it does not (GitHub,
    # Shopify, Twilio), captured bytes can be replayed with fresh ids and verify again; new
    # endpoints then get this duplicate-body window by default (hours, 0 = off; see
    # `WebhookEndpoint.duplicate_body_window_hours`).
    signs_timestamp_or_id: ClassVar[bool] = True
    default_duplicate_body_window_hours: ClassVar[int] = 0

    @abstractmethod
    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        """Raise a `DeliveryRejected` subclass unless the delivery is authentic and fresh."""

    @abstractmethod
    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        """The events of a verified delivery; `MalformedPayload` when it has none.

        `secrets` (optional) carries the endpoint's options; only the generic `hmac` provider
        reads them (`id_header`/`id_field`/`type_header`/`type_field`). Without them it falls
        back to a body-hash id and the type "webhook", so pass them.
        """

    def check_settings(self, secrets: EndpointSecrets) -> None:
        """Raise `EndpointSettingInvalid` (naming the field) when a setting that *is set* cannot
        work: an unknown option, a malformed public key, generic HMAC options naming an unknown
        algorithm, a secret that is not `whsec_…` base64.

        Missing material is accepted (an endpoint may be saved before the provider shows its
        secret or key; it answers 503 until then). `WebhookEndpoint.clean()` calls this, so the
        admin form, `manage.py webhook_endpoint` and the services all refuse the same things.
        The default refuses option keys outside `known_options`; providers with secrets or
        keys of a particular shape extend it. `verify()` checks again on every delivery.
        """
        unknown = sorted(set(secrets.options) - self.known_options)
        if unknown:
            known = ", ".join(sorted(self.known_options)) or "none"
            raise EndpointSettingInvalid(
                f"Unknown {self.id} option {unknown[0]!r} (known: {known}).",
                field="options",
                option=unknown[0],
            )

    def prepare_options(self, options: Mapping[str, Any]) -> Any:
        """The endpoint's options parsed for the hot path, cached with the endpoint
        configuration (`webhooks.selectors`) and handed back as
        `EndpointSecrets.prepared_options`; None (the default) when there is nothing to parse.
        Must be picklable (the configuration may be cached in Redis). Raises
        `WebhookConfigurationError` for options that cannot work."""
        return None

    def check_configuration(self, secrets: EndpointSecrets) -> None:
        """Raise `WebhookConfigurationError` unless this material can verify a delivery now:
        `check_settings`, plus whatever must be present (SendGrid's public key)."""
        self.check_settings(secrets)

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        """A synchronous reply instead of the default acknowledgement (None: default)."""
        return None

    @abstractmethod
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
        """Sign `body` exactly as the provider would (for `send_test_webhook`).

        Signs with the newest secret (`secrets.secrets[0]`). `event_type`/`event_id` are
        optional: providers that carry them in headers (GitHub, Shopify, Standard Webhooks,
        the generic HMAC provider) use them there; when omitted they are read from the body
        where it names them, else a default type and a fresh id are used.
        """

    @abstractmethod
    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        """A realistic sample delivery body for `send_test_webhook`.

        Built-in providers load it from `webhooks/samples/<provider>/<event type>.json`
        (`webhooks.providers.samples`) and fill in ids and times, so two samples never share
        a body.
        """

    def stored_payload(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The payload handlers get for a stored event, from its stored bytes and headers.

        The same object `parse()` put in `ParsedEvent.payload`: a form body is a dict of its
        fields (last value of a repeated name), anything else is JSON. Providers whose form
        bodies wrap JSON in a `payload` field (GitHub, Slack interactivity) return the parsed
        JSON. Raises `MalformedPayload` when the bytes are neither; a caller that displays
        payloads falls back to the text.
        """
        content_type = Headers(headers).get("content-type", "")
        if is_form_content_type(content_type):
            return form_fields(body)
        return json_payload(body)

    def event_subject(self, event: ParsedEvent) -> str:
        """The id of the object `event` is about (a PaymentIntent, a message, a repository),
        read from the payload `parse()` already decoded; "" when the provider names none.

        Stored in the indexed `WebhookEvent.subject` column so staff can find every event
        about one object. Must not parse the body again (it runs on the hot path); the
        ingest service drops values no column can hold.
        """
        return ""

    def generate_secret(self) -> str:
        """A new secret for schemes where we choose it (`secret_kind == "shared_secret"`)."""
        from secrets import token_urlsafe

        return token_urlsafe(32)


# --- shared payload helpers (added by the providers work; optional for callers) -------------


def json_payload(body: bytes) -> Any:
    """The parsed JSON of a delivery body; `MalformedPayload` for non-UTF-8 or invalid JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedPayload("The body is not valid UTF-8 JSON.") from exc


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def is_form_content_type(content_type: str) -> bool:
    """Whether a Content-Type (parameters allowed) is `application/x-www-form-urlencoded`."""
    return content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE


def form_fields(body: bytes) -> dict[str, str]:
    """The fields of a form body, the last value of a repeated name winning (blank values
    kept); `MalformedPayload` for a body that is not UTF-8 form data."""
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload("The form body is not valid UTF-8 form data.") from exc
    return {name: values[-1] for name, values in form.items()}


def form_wrapped_json(fields: Mapping[str, str]) -> dict[str, Any] | None:
    """The JSON object of a form's `payload` field (GitHub form deliveries, Slack
    interactivity); None when there is no such field, `MalformedPayload` when it is not a
    JSON object."""
    if "payload" not in fields:
        return None
    payload = json_payload(fields["payload"].encode("utf-8"))
    if not isinstance(payload, dict):
        raise MalformedPayload("The form's `payload` field is not a JSON object.")
    return payload


def json_object(body: bytes) -> dict[str, Any]:
    """The parsed JSON object of a delivery body; `MalformedPayload` unless it is an object."""
    payload = json_payload(body)
    if not isinstance(payload, dict):
        raise MalformedPayload("The body is not a JSON object.")
    return payload


def required_event_header(delivery: IncomingDelivery, name: str) -> str:
    """A header naming the event (id, type); `MalformedPayload` when missing or blank.

    Not for signature headers: those are `webhooks.signing.required_header` (a 4xx for a
    missing signature, counted as a verification failure).
    """
    value = delivery.headers.get(name, "").strip()
    if not value:
        raise MalformedPayload(f"The {name} header is missing.")
    return value


def required_text(payload: Mapping[str, Any], key: str, *, what: str) -> str:
    """A non-empty string field of a payload; `MalformedPayload` when missing or not a string."""
    value = payload.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"The payload has no {what}.")
    return value


# Epoch seconds a stored datetime can hold: 1970-01-01 up to 9999-12-31 23:59:59 UTC.
MAX_EPOCH = 253_402_300_799


def _storable_epoch(value: float) -> float | None:
    """`value` when `datetime.fromtimestamp` can turn it into a stored time, else None.

    Senders control these numbers: a huge, negative or non-finite one must not reach the
    insert (where `fromtimestamp` would raise and turn the delivery into a 500).
    """
    if not math.isfinite(value) or not 0 <= value <= MAX_EPOCH:
        return None
    return value


def epoch_or_none(value: Any) -> float | None:
    """Epoch seconds from a numeric payload field; None when absent, not a plain number, or
    outside 1970..9999."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return _storable_epoch(float(value))
    except OverflowError:  # an int too large for a float
        return None


# Epoch seconds stay below 10^11 until the year 5138, so a larger number is in milliseconds
# (Clerk's `timestamp`) or, beyond 10^14, microseconds (Slack's `event_time` in its examples).
_MILLIS_FROM = 10**11
_MICROS_FROM = 10**14
_DECIMAL_EPOCH = re.compile(r"\d{1,17}(\.\d{1,9})?")


def scaled_epoch_or_none(value: Any) -> float | None:
    """Epoch seconds from a number or decimal string in seconds, milliseconds or
    microseconds (told apart by magnitude): Clerk's `1654012591835`, Slack's
    `"1515449522.000016"` and `1515449522000016`. None when it is none of these or the
    moment is outside 1970..9999."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_EPOCH.fullmatch(text):
            return None
        number = float(text)
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            return None
    else:
        return None
    if number >= _MICROS_FROM:
        number /= 1_000_000
    elif number >= _MILLIS_FROM:
        number /= 1000
    return _storable_epoch(number)


def dump_json(payload: Any) -> bytes:
    """Compact JSON bytes, as the sample bodies and batch elements are stored."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso_to_epoch(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 string (`Z` allowed, naive means UTC); None if invalid
    or outside 1970..9999."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return _storable_epoch(moment.timestamp())
    except (ValueError, OverflowError, OSError):
        return None


def epoch_to_iso(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` for epoch seconds (how sample bodies write times)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
