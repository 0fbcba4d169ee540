"""Generic HMAC webhooks, configured per endpoint — for senders without a module of their own.

There is no provider documentation to follow: the scheme is whatever the sender documents, and
the endpoint's `options` describe it (RFC 2104 HMAC; no rate limits of its own — the sender's
apply). Options (`EndpointSecrets.options`):

| option | default | meaning |
| --- | --- | --- |
| `header` | required | header carrying the signature |
| `algorithm` | `sha256` | `sha1`, `sha256` or `sha512` |
| `encoding` | `hex` | `hex` or `base64` signature encoding |
| `prefix` | `""` | text before the signature in the header, e.g. `sha256=` |
| `secret_encoding` | `utf8` | how the secret becomes key bytes: `utf8`, `hex` or `base64` |
| `timestamp_header` | none | header with the unix timestamp; enables the tolerance check |
| `signed_content` | see below | template of the signed bytes |
| `id_header` / `id_field` | none | where the event id is: a header, or a JSON field (dotted path) |
| `type_header` / `type_field` | none | where the event type is, likewise |

`signed_content` defaults to `{body}`, or `{timestamp}.{body}` when `timestamp_header` is set;
it holds `{body}` exactly once and may use `{timestamp}` and `{id}` (which needs `id_header`).

Event id fallback: the hex SHA-256 of the raw body, so an identical redelivery is stored once
(and two genuinely different events never collide). Event type fallback: `"webhook"`.
Invalid options raise `EndpointSettingInvalid` (a `WebhookConfigurationError`) naming the
option, when the endpoint is saved and again on every delivery. The secret is chosen by
us (`secret_kind = "shared_secret"`). The sample (`webhooks/samples/hmac/webhook.json`) is one
JSON envelope for every type: a generic sender's payloads have no documented shape.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from webhooks import signing
from webhooks.exceptions import EndpointSettingInvalid, MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    Headers,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    json_payload,
    required_event_header,
)
from webhooks.providers.hmac_base import HmacScheme, HmacSignedProvider, SampleDelivery
from webhooks.providers.samples import sample_render

KNOWN_OPTIONS = frozenset(
    {
        "header",
        "algorithm",
        "encoding",
        "prefix",
        "secret_encoding",
        "timestamp_header",
        "signed_content",
        "id_header",
        "id_field",
        "type_header",
        "type_field",
    }
)
ENCODINGS = ("hex", "base64")
SECRET_ENCODINGS = ("utf8", "hex", "base64")
DEFAULT_EVENT_TYPE = "webhook"
MAX_TEMPLATE_LENGTH = 200


@dataclass(frozen=True)
class HmacOptions:
    """Validated generic-HMAC options of one endpoint."""

    header: str
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    secret_encoding: str = "utf8"  # noqa: S105 - an encoding name
    timestamp_header: str = ""
    signed_content: str = "{body}"
    id_header: str = ""
    id_field: str = ""
    type_header: str = ""
    type_field: str = ""

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HmacOptions:
        unknown = sorted(set(options) - KNOWN_OPTIONS)
        if unknown:
            raise EndpointSettingInvalid(
                f"Unknown hmac option {unknown[0]!r}; known: {', '.join(sorted(KNOWN_OPTIONS))}.",
                field="options",
                option=unknown[0],
            )
        values: dict[str, str] = {}
        for name in KNOWN_OPTIONS:
            value = options.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise EndpointSettingInvalid(
                    f"The hmac option {name!r} must be a string.", field="options", option=name
                )
            values[name] = value.strip() if name not in ("prefix", "signed_content") else value
        header = values.get("header", "")
        if not header:
            raise EndpointSettingInvalid(
                "The hmac option 'header' is required.", field="options", option="header"
            )
        algorithm = values.get("algorithm", "sha256").lower()
        if algorithm not in signing.HMAC_ALGORITHMS:
            raise EndpointSettingInvalid(
                f"The hmac option 'algorithm' must be one of {', '.join(signing.HMAC_ALGORITHMS)}.",
                field="options",
                option="algorithm",
            )
        encoding = values.get("encoding", "hex").lower()
        if encoding not in ENCODINGS:
            raise EndpointSettingInvalid(
                "The hmac option 'encoding' must be hex or base64.",
                field="options",
                option="encoding",
            )
        secret_encoding = values.get("secret_encoding", "utf8").lower()
        if secret_encoding not in SECRET_ENCODINGS:
            raise EndpointSettingInvalid(
                "The hmac option 'secret_encoding' must be utf8, hex or base64.",
                field="options",
                option="secret_encoding",
            )
        timestamp_header = values.get("timestamp_header", "")
        default_template = "{timestamp}.{body}" if timestamp_header else "{body}"
        template = values.get("signed_content", "") or default_template
        _check_template(
            template, timestamp_header=timestamp_header, id_header=values.get("id_header", "")
        )
        for pair in (("id_header", "id_field"), ("type_header", "type_field")):
            if values.get(pair[0]) and values.get(pair[1]):
                raise EndpointSettingInvalid(
                    f"Set only one of the hmac options {pair[0]!r} and {pair[1]!r}.",
                    field="options",
                    option=pair[1],
                )
        return cls(
            header=header,
            algorithm=algorithm,
            encoding=encoding,
            prefix=values.get("prefix", ""),
            secret_encoding=secret_encoding,
            timestamp_header=timestamp_header,
            signed_content=template,
            id_header=values.get("id_header", ""),
            id_field=values.get("id_field", ""),
            type_header=values.get("type_header", ""),
            type_field=values.get("type_field", ""),
        )

    @property
    def scheme(self) -> HmacScheme:
        """The signing scheme these options describe (`{id}` is the `id_header` value)."""
        return HmacScheme(
            header=self.header,
            prefix=self.prefix,
            encoding=self.encoding,
            digest=self.algorithm,
            signed_content=self.signed_content,
            id_header=self.id_header if "{id}" in self.signed_content else "",
            timestamp_header=self.timestamp_header,
            secret_encoding=self.secret_encoding,
        )


class HmacWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "hmac"
    name: ClassVar[str] = "Generic HMAC"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = ("user-agent", "content-type")

    known_options: ClassVar[frozenset[str]] = KNOWN_OPTIONS

    def prepare_options(self, options: Mapping[str, Any]) -> HmacOptions:
        """Parsed once when the endpoint configuration is loaded (and cached with it), so a
        delivery never re-parses the option mini-language."""
        return HmacOptions.from_options(options)

    def check_settings(self, secrets: EndpointSecrets) -> None:
        options = self._options(secrets)
        for secret in secrets.secrets:
            self.secret_key(secret, options.scheme)

    def signing_scheme(
        self, secrets: EndpointSecrets, headers: Headers | None = None
    ) -> HmacScheme:
        return self._options(secrets).scheme

    def secret_key(self, secret: str, scheme: HmacScheme) -> bytes:
        try:
            return super().secret_key(secret, scheme)
        except EndpointSettingInvalid as exc:
            raise EndpointSettingInvalid(
                f"A secret is not valid {scheme.secret_encoding} (hmac option 'secret_encoding').",
                field="secret",
            ) from exc

    def _options(self, secrets: EndpointSecrets) -> HmacOptions:
        prepared = secrets.prepared_options
        if isinstance(prepared, HmacOptions):
            return prepared
        return _parsed_options(secrets.options)

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        options = (
            self._options(secrets)
            if secrets is not None and (secrets.options or secrets.prepared_options)
            else None
        )
        needs_json = options is not None and bool(options.id_field or options.type_field)
        payload: Any = None
        if needs_json:
            payload = json_payload(delivery.body)
        else:
            try:
                payload = json_payload(delivery.body)
            except MalformedPayload:
                payload = None
        event_id = signing.sha256_hex(delivery.body)
        event_type = DEFAULT_EVENT_TYPE
        if options is not None:
            if options.id_header:
                event_id = required_event_header(delivery, options.id_header)
            elif options.id_field:
                event_id = _field(payload, options.id_field)
            if options.type_header:
                event_type = required_event_header(delivery, options.type_header)
            elif options.type_field:
                event_type = _field(payload, options.type_field)
        return [
            ParsedEvent(
                event_id=event_id, event_type=event_type, body=delivery.body, payload=payload
            )
        ]

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        options = self._options(sample.secrets)
        headers = {"Content-Type": "application/json"}
        if options.id_header:
            headers[options.id_header] = sample.event_id or signing.sha256_hex(sample.body)
        if options.type_header:
            headers[options.type_header] = sample.event_type or DEFAULT_EVENT_TYPE
        return headers

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        values = {
            "event_id": event_id,
            "event_type": event_type or DEFAULT_EVENT_TYPE,
            "now": int(time.time()),
        }
        return dump_json(sample_render(self.id, DEFAULT_EVENT_TYPE, values))


def _check_template(template: str, *, timestamp_header: str, id_header: str) -> None:
    if len(template) > MAX_TEMPLATE_LENGTH or template.count("{body}") != 1:
        raise EndpointSettingInvalid(
            "The hmac option 'signed_content' must contain '{body}' exactly once.",
            field="options",
            option="signed_content",
        )
    rest = template.replace("{body}", "").replace("{timestamp}", "").replace("{id}", "")
    if "{" in rest or "}" in rest:
        raise EndpointSettingInvalid(
            "The hmac option 'signed_content' may only use {body}, {timestamp} and {id}.",
            field="options",
            option="signed_content",
        )
    if "{timestamp}" in template and not timestamp_header:
        raise EndpointSettingInvalid(
            "The hmac option 'signed_content' uses {timestamp} but 'timestamp_header' is not set.",
            field="options",
            option="signed_content",
        )
    if "{id}" in template and not id_header:
        raise EndpointSettingInvalid(
            "The hmac option 'signed_content' uses {id} but 'id_header' is not set.",
            field="options",
            option="signed_content",
        )


@lru_cache(maxsize=256)
def _parsed_from_items(items: tuple[tuple[str, Any], ...]) -> HmacOptions:
    return HmacOptions.from_options(dict(items))


def _parsed_options(options: Mapping[str, Any]) -> HmacOptions:
    """Options parsed once per distinct value (callers without a prepared configuration:
    `manage.py`, tests); unhashable values are parsed (and refused) without the memo."""
    try:
        return _parsed_from_items(tuple(sorted(options.items())))
    except TypeError:
        return HmacOptions.from_options(options)


def _field(payload: Any, path: str) -> str:
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise MalformedPayload(f"The payload has no {path!r} field.")
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise MalformedPayload(f"The payload field {path!r} is not a string or integer.")
    return str(value)
