"""The values the declarative HMAC base passes around: the scheme as data, what a signature
covers, what a request carries, what a test delivery asks for.

`HmacScheme` checks itself on construction (`problems()`), so a provider module that declares
an impossible scheme fails at import. Re-exported by `webhooks.providers.hmac_base`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from webhooks import signing
from webhooks.exceptions import WebhookConfigurationError
from webhooks.providers.base import EndpointSecrets, Headers

TIMESTAMP_FORMATS = ("s", "ms", "rfc3339")
ENCODINGS = ("hex", "base64", "text")
SECRET_ENCODINGS = ("utf8", "hex", "base64")
PLACEHOLDERS = ("{timestamp}", "{id}", "{url}", "{method}")


@dataclass(frozen=True)
class HmacScheme:
    """One signing scheme, as data (see the class attributes of `HmacSignedProvider`)."""

    header: str
    prefix: str = ""
    encoding: str = "hex"
    digest: str | None = "sha256"
    separator: str = ""
    pair_separator: str = "="
    signature_key: str = ""
    max_signatures: int = 1
    signed_content: str = "{body}"
    id_header: str = ""
    timestamp_header: str = ""
    timestamp_element: str = ""
    timestamp_field: str = ""
    timestamp_format: str = "s"
    tolerance_seconds: int | None = None
    secret_encoding: str = "utf8"  # noqa: S105 - an encoding name, not a secret

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise WebhookConfigurationError(f"Invalid HMAC scheme: {problems[0]}")

    def problems(self) -> list[str]:
        """What is wrong with the declaration (empty when it can verify)."""
        found: list[str] = []
        if not self.header:
            found.append("no signature header")
        if self.digest is not None and self.digest not in signing.HMAC_ALGORITHMS:
            found.append(f"unknown digest {self.digest!r}")
        if self.encoding not in ENCODINGS or (self.encoding == "text") != (self.digest is None):
            found.append(f"encoding {self.encoding!r} does not fit digest {self.digest!r}")
        if self.secret_encoding not in SECRET_ENCODINGS:
            found.append(f"unknown secret encoding {self.secret_encoding!r}")
        if self.signed_content.count("{body}") != 1:
            found.append("signed_content must hold {body} exactly once")
        rest = self.signed_content.replace("{body}", "")
        for placeholder in PLACEHOLDERS:
            rest = rest.replace(placeholder, "")
        if "{" in rest or "}" in rest:
            found.append("signed_content may only use {body}, {timestamp}, {id}, {url}, {method}")
        places = [self.timestamp_header, self.timestamp_element, self.timestamp_field]
        if sum(1 for place in places if place) > 1:
            found.append("the timestamp is declared in more than one place")
        if "{timestamp}" in self.signed_content and not (
            self.timestamp_header or self.timestamp_element
        ):
            found.append("signed_content uses {timestamp} but no timestamp is sent")
        if "{id}" in self.signed_content and not self.id_header:
            found.append("signed_content uses {id} but id_header is not set")
        if self.timestamp_format not in TIMESTAMP_FORMATS:
            found.append(f"unknown timestamp format {self.timestamp_format!r}")
        if self.separator and not self.signature_key:
            found.append("a multi-element signature header needs signature_key")
        if self.max_signatures < 1:
            found.append("max_signatures must be at least 1")
        return found

    @property
    def has_timestamp(self) -> bool:
        return bool(self.timestamp_header or self.timestamp_element or self.timestamp_field)


@dataclass(frozen=True)
class SignedContent:
    """The pieces a signature may cover, as the sender sent them (text kept verbatim)."""

    body: bytes
    timestamp: str = ""
    event_id: str = ""
    url: str = ""
    method: str = "POST"
    content_type: str = ""
    form: Mapping[str, Sequence[str]] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)


@dataclass(frozen=True)
class SampleDelivery:
    """What `sign()` was asked to sign, for `delivery_headers()`."""

    body: bytes
    secrets: EndpointSecrets
    url: str
    timestamp: int
    event_type: str | None
    event_id: str | None


@dataclass(frozen=True)
class ProvidedSignatures:
    """What the request carries: encoded signatures (prefix removed) and, when the signature
    header holds it (`t=…`, `ts=…`), the timestamp text."""

    signatures: tuple[str, ...]
    timestamp: str = ""
