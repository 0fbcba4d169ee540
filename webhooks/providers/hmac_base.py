"""The declarative base of every HMAC-signed (and shared-token) webhook provider.

A provider module declares its scheme as class attributes — which header carries the
signature, its prefix and encoding, the digest, what the signed message is, where the
timestamp is and in which unit, how many signatures one header may carry — and `verify` and
`sign` are written here, once. Two small hooks cover what data cannot say:

- `signed_message(content)`: the bytes the HMAC covers. The default renders the
  `signed_content` template (`{body}` exactly once; `{timestamp}`, `{id}`, `{url}` and
  `{method}` as sent); Twilio overrides it (URL + sorted form parameters).
- `provided_signatures(delivery)`: the signatures (and the timestamp when the signature header
  carries it) read from the request. The default parses `signature_header` as declared.

Declarations are compiled into one frozen `HmacScheme` when the subclass is defined, and
checked then: a provider that declares an unknown digest, a template without `{body}`, or
two places for its timestamp fails at import, not on the first delivery. The generic `hmac`
provider builds its `HmacScheme` from the endpoint's options instead (parsed once when the
endpoint configuration is loaded, `prepare_options`).

What every provider on this base gets, from `webhooks/signing.py`: every secret compared with
every provided signature in constant time with no early exit, timestamps refused in the future
as well as the past, strict hex/base64 decoding, and headers that are missing or absurd
refused as a 4xx. `digest = None` declares a shared token (GitLab's `X-Gitlab-Token`): the
header must equal a secret, compared the same constant-time way.

The module also gives providers a declarative parse for one JSON object per delivery
(`event_id_header` / `event_id_field`, `event_type_header` / `event_type_field`,
`occurred_at_field`, dotted paths) and `sample_body` from `webhooks/samples/<id>/`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from webhooks import signing
from webhooks.exceptions import MalformedPayload, SignatureInvalid, WebhookConfigurationError
from webhooks.providers.base import (
    EndpointSecrets,
    Headers,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    iso_to_epoch,
    json_object,
    scaled_epoch_or_none,
)
from webhooks.providers.hmac_scheme import (
    HmacScheme,
    ProvidedSignatures,
    SampleDelivery,
    SignedContent,
)
from webhooks.providers.samples import sample_default_body

__all__ = [
    "HmacScheme",
    "HmacSignedProvider",
    "ProvidedSignatures",
    "SampleDelivery",
    "SignedContent",
    "field_at",
    "moment_or_none",
]


class HmacSignedProvider(WebhookProvider):
    """A provider whose deliveries carry an HMAC of (part of) the request, or a shared token.

    Subclasses declare the scheme with these class attributes; nothing else is required
    beyond `id`, `name` and (for samples) `default_event_type`.
    """

    # --- the signature header
    signature_header: ClassVar[str] = ""
    signature_prefix: ClassVar[str] = ""  # stripped from a single signature: `sha256=`, `v0=`
    signature_encoding: ClassVar[str] = "hex"  # hex | base64 | text (shared token)
    digest: ClassVar[str | None] = "sha256"  # sha1 | sha256 | sha512 | None (shared token)
    # Several signatures in one header: `t=…,v1=…,v1=…` (Stripe: separator ",", key "v1"),
    # `ts=…;h1=…` (Paddle), `v1,<sig> v1,<sig>` (Standard Webhooks: " " and pair ",").
    signature_separator: ClassVar[str] = ""
    signature_pair_separator: ClassVar[str] = "="
    signature_key: ClassVar[str] = ""
    max_signatures: ClassVar[int] = 1
    # --- what is signed
    signed_content: ClassVar[str] = "{body}"
    signed_id_header: ClassVar[str] = ""  # the header `{id}` stands for
    secret_encoding: ClassVar[str] = "utf8"  # noqa: S105 - an encoding name
    # --- the timestamp: at most one place; unit s, ms or rfc3339
    timestamp_header: ClassVar[str] = ""
    timestamp_element: ClassVar[str] = ""  # a key of the signature header (`t`, `ts`)
    timestamp_field: ClassVar[str] = ""  # a top-level JSON body field (Linear)
    timestamp_format: ClassVar[str] = "s"
    # The provider's documented window; None: the endpoint's `tolerance_seconds`.
    tolerance_seconds: ClassVar[int | None] = None
    # --- the events (the default `parse`: one JSON object per delivery)
    event_id_header: ClassVar[str] = ""
    event_id_field: ClassVar[str] = ""
    event_type_header: ClassVar[str] = ""
    event_type_field: ClassVar[str] = ""
    occurred_at_field: ClassVar[str] = ""
    # --- test deliveries
    default_event_type: ClassVar[str] = ""
    content_type: ClassVar[str] = "application/json"
    test_headers: ClassVar[Mapping[str, str]] = {}

    scheme: ClassVar[HmacScheme | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.signature_header:
            return  # an intermediate base, or a provider whose scheme comes from options
        cls.scheme = HmacScheme(
            header=cls.signature_header,
            prefix=cls.signature_prefix,
            encoding=cls.signature_encoding,
            digest=cls.digest,
            separator=cls.signature_separator,
            pair_separator=cls.signature_pair_separator,
            signature_key=cls.signature_key,
            max_signatures=cls.max_signatures,
            signed_content=cls.signed_content,
            id_header=cls.signed_id_header,
            timestamp_header=cls.timestamp_header,
            timestamp_element=cls.timestamp_element,
            timestamp_field=cls.timestamp_field,
            timestamp_format=cls.timestamp_format,
            tolerance_seconds=cls.tolerance_seconds,
            secret_encoding=cls.secret_encoding,
        )
        if (
            cls.scheme.timestamp_element
            and not cls.scheme.separator
            and cls.provided_signatures is HmacSignedProvider.provided_signatures
        ):
            raise WebhookConfigurationError(
                f"{cls.__qualname__}: timestamp_element needs a multi-element signature header "
                "or a provided_signatures() that returns the timestamp."
            )
        # Whether captured bytes replayed under a fresh id verify again follows from the
        # declaration (see `WebhookProvider.signs_timestamp_or_id`), unless declared.
        if "signs_timestamp_or_id" not in cls.__dict__:
            cls.signs_timestamp_or_id = cls.scheme.has_timestamp or bool(cls.scheme.id_header)
        if "default_duplicate_body_window_hours" not in cls.__dict__:
            cls.default_duplicate_body_window_hours = 0 if cls.signs_timestamp_or_id else 24

    # --- the scheme ------------------------------------------------------------------------

    def signing_scheme(
        self, secrets: EndpointSecrets, headers: Headers | None = None
    ) -> HmacScheme:
        """The scheme that verifies this endpoint's deliveries (the declared one).

        `headers` are the delivery's when verifying (None when signing): a provider whose
        header names vary (Standard Webhooks' `svix-` names) picks its scheme by them."""
        if self.scheme is None:
            raise WebhookConfigurationError(f"The {self.id} provider declares no HMAC scheme.")
        return self.scheme

    def secret_key(self, secret: str, scheme: HmacScheme) -> bytes:
        """The HMAC key of one stored secret (`secret_encoding`: utf8, hex or base64)."""
        return signing.secret_to_key(secret, scheme.secret_encoding)

    def _keys(self, secrets: EndpointSecrets, scheme: HmacScheme) -> list[bytes]:
        active = signing.require_secrets(secrets.secrets, provider=self.id)
        return [self.secret_key(secret, scheme) for secret in active]

    # --- the two hooks ----------------------------------------------------------------------

    def signed_message(self, content: SignedContent, scheme: HmacScheme) -> bytes:
        """The bytes the HMAC covers: `signed_content` with its placeholders filled."""
        return signing.render_signed_content(
            scheme.signed_content,
            body=content.body,
            values={
                "{timestamp}": content.timestamp,
                "{id}": content.event_id,
                "{url}": content.url,
                "{method}": content.method,
            },
        )

    def provided_signatures(
        self, delivery: IncomingDelivery, scheme: HmacScheme
    ) -> ProvidedSignatures:
        """The signatures the delivery carries, as declared by the scheme."""
        header = signing.required_header(delivery.headers, scheme.header)
        if not scheme.separator:
            return ProvidedSignatures(
                (signing.strip_prefix(header, scheme.prefix, header=scheme.header),)
            )
        elements = signing.parse_signature_elements(
            header, item_separator=scheme.separator, pair_separator=scheme.pair_separator
        )
        timestamp = ""
        if scheme.timestamp_element:
            timestamp = signing.single_element(
                elements, scheme.timestamp_element, header=scheme.header
            )
        values = tuple(value for key, value in elements if key == scheme.signature_key)
        if not values:
            raise SignatureInvalid(
                f"The {scheme.header} header has no {scheme.signature_key} signature."
            )
        if len(values) > scheme.max_signatures:
            raise SignatureInvalid(f"The {scheme.header} header carries too many signatures.")
        return ProvidedSignatures(values, timestamp)

    def expected_signatures(
        self, keys: Sequence[bytes], content: SignedContent, scheme: HmacScheme
    ) -> list[bytes]:
        """What a genuine signature may be: the HMAC of the message by each secret (or each
        secret itself for a shared token). Twilio widens this to its URL variants."""
        if scheme.digest is None:
            return list(keys)
        return signing.hmac_digests(keys, [self.signed_message(content, scheme)], scheme.digest)

    # --- verify and sign, written once ------------------------------------------------------

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        scheme = self.signing_scheme(secrets, delivery.headers)
        keys = self._keys(secrets, scheme)
        provided = self.provided_signatures(delivery, scheme)
        raw_timestamp = provided.timestamp
        if scheme.timestamp_header:
            raw_timestamp = signing.required_header(delivery.headers, scheme.timestamp_header)
        elif scheme.timestamp_field:
            raw_timestamp = _body_timestamp(delivery.body, scheme.timestamp_field)
        moment = (
            signing.parse_timestamp_as(
                raw_timestamp, unit=scheme.timestamp_format, header=_timestamp_place(scheme)
            )
            if scheme.has_timestamp
            else None
        )
        content = SignedContent(
            body=delivery.body,
            timestamp=raw_timestamp,
            event_id=(
                signing.required_header(delivery.headers, scheme.id_header)
                if scheme.id_header
                else ""
            ),
            url=delivery.url,
            content_type=delivery.content_type or delivery.headers.get("content-type", ""),
            form=delivery.form,
            headers=delivery.headers,
        )
        candidates = [
            signing.decode_signature(value, scheme.encoding) for value in provided.signatures
        ]
        if not signing.signature_matches(
            self.expected_signatures(keys, content, scheme), candidates
        ):
            raise SignatureInvalid(f"The {scheme.header} signature does not match.")
        if moment is not None:
            signing.check_timestamp(
                moment,
                now=delivery.received_at,
                tolerance_seconds=scheme.tolerance_seconds or secrets.tolerance_seconds,
            )

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
        scheme = self.signing_scheme(secrets)
        key = self._keys(secrets, scheme)[0]
        raw_timestamp = signing.format_timestamp_as(timestamp, unit=scheme.timestamp_format)
        signed_id = (event_id or self.new_event_id()) if scheme.id_header else ""
        extra = self.delivery_headers(
            SampleDelivery(body, secrets, url, timestamp, event_type, event_id)
        )
        content_type = extra.get("Content-Type", self.content_type)
        content = SignedContent(
            body=body,
            timestamp=raw_timestamp,
            event_id=signed_id,
            url=url,
            content_type=content_type,
        )
        signature = signing.encode_signature(
            self.expected_signatures([key], content, scheme)[0], scheme.encoding
        )
        headers = {scheme.header: _signature_header(scheme, signature, raw_timestamp)}
        if scheme.timestamp_header:
            headers[scheme.timestamp_header] = raw_timestamp
        if scheme.id_header:
            headers[scheme.id_header] = signed_id
        headers.update(extra)
        headers.setdefault("Content-Type", content_type)
        return SignedRequest(body=body, headers=headers, content_type=content_type)

    def new_event_id(self) -> str:
        """A fresh id for a test delivery that was given none."""
        return str(uuid.uuid4())

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        """The unsigned headers a test delivery carries (event id and type headers, user
        agent): `test_headers`, the declared id header (`event_id` or a fresh UUID) and type
        header (`event_type` or the body's declared type field)."""
        headers = dict(self.test_headers)
        if self.event_id_header and self.event_id_header != self.signed_id_header:
            headers[self.event_id_header] = sample.event_id or self.new_event_id()
        if self.event_type_header:
            headers[self.event_type_header] = sample.event_type or self.default_event_type
        return headers

    # --- events -------------------------------------------------------------------------------

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        return [self.json_event(delivery, payload, body=delivery.body)]

    def json_event(
        self, delivery: IncomingDelivery, payload: Mapping[str, Any], *, body: bytes
    ) -> ParsedEvent:
        """One event of a JSON object, named as the class declares (header first, then
        field)."""
        return ParsedEvent(
            event_id=_named(delivery, payload, self.event_id_header, self.event_id_field, "id"),
            event_type=_named(
                delivery, payload, self.event_type_header, self.event_type_field, "type"
            ),
            body=body,
            payload=payload,
            occurred_at=moment_or_none(field_at(payload, self.occurred_at_field))
            if self.occurred_at_field
            else None,
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        """The sample of `event_type` (`webhooks/samples/<id>/<type>.json`);
        `WebhookConfigurationError` naming the types that have one otherwise."""
        return sample_default_body(
            self.id, event_type or self.default_event_type, event_id=event_id
        )


# --- helpers --------------------------------------------------------------------------------


def field_at(payload: Any, path: str) -> Any:
    """The value at a dotted path of a JSON object (`form_response.submitted_at`), or None."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def moment_or_none(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 string or a number in s/ms/µs; None otherwise."""
    if isinstance(value, str) and not value.strip().replace(".", "", 1).isdigit():
        return iso_to_epoch(value)
    return scaled_epoch_or_none(value)


def _named(
    delivery: IncomingDelivery, payload: Mapping[str, Any], header: str, path: str, what: str
) -> str:
    if header:
        value = delivery.headers.get(header, "").strip()
        if value or not path:
            if not value:
                raise MalformedPayload(f"The {header} header is missing.")
            return value
    if path:
        value = field_at(payload, path)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value:
            return value
        raise MalformedPayload(f"The payload has no event {what} (`{path}`).")
    raise WebhookConfigurationError(f"The provider declares no event {what}.")


def _body_timestamp(body: bytes, name: str) -> str:
    """The timestamp field of a JSON body, as text; '' (refused later) when absent."""
    try:
        value = json_object(body).get(name)
    except MalformedPayload:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


def _timestamp_place(scheme: HmacScheme) -> str:
    return scheme.timestamp_header or scheme.timestamp_field or scheme.header


def _signature_header(scheme: HmacScheme, signature: str, timestamp: str) -> str:
    if not scheme.separator:
        return scheme.prefix + signature
    pair = scheme.pair_separator
    elements = [f"{scheme.timestamp_element}{pair}{timestamp}"] if scheme.timestamp_element else []
    elements.append(f"{scheme.signature_key}{pair}{signature}")
    return scheme.separator.join(elements)
