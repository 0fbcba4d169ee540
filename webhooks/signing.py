"""Shared signature mechanics for every webhook provider — the only module that does crypto.

Provider modules describe *what* is signed (which header, which bytes, which encoding); this
module does the rest once: HMAC, constant-time comparison, timestamp tolerance, signature-header
parsing, strict base64/hex decoding, ECDSA P-256 verification.

What callers may rely on:

- Every check raises a `DeliveryRejected` subclass (never another exception) for anything a
  sender controls: missing or garbage headers, bad encodings, non-numeric or absurd timestamps.
  Configuration problems (a bad public key, an unknown algorithm) raise
  `WebhookConfigurationError`.
- `signature_matches()` compares *every* expected signature with *every* provided one using
  `hmac.compare_digest` and only then decides, so neither timing nor control flow reveals which
  secret or which provided signature matched.
- Messages never contain secrets, signatures or bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from webhooks.exceptions import (
    EndpointSettingInvalid,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)

HMAC_ALGORITHMS: Mapping[str, str] = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}

# A signature header longer than this is not something any provider sends; refuse it before
# splitting it into thousands of elements.
MAX_SIGNATURE_HEADER_LENGTH = 8192
# Epoch seconds fit in 10 digits until the year 2286; 12 leaves room and keeps int() cheap.
_TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
_HEX_PATTERN = re.compile(r"(?:[0-9a-fA-F]{2})+")
_PLACEHOLDER = re.compile(r"\{[a-z]+\}")


# --- headers -------------------------------------------------------------------------------


def required_header(headers: Mapping[str, str], name: str) -> str:
    """The stripped value of header `name`; `SignatureMissing` when absent or blank."""
    value = headers.get(name)
    if value is None or not value.strip():
        raise SignatureMissing(f"The {name} header is missing.")
    value = value.strip()
    if len(value) > MAX_SIGNATURE_HEADER_LENGTH:
        raise SignatureInvalid(f"The {name} header is too long.")
    return value


def parse_signature_elements(
    value: str, *, item_separator: str = ",", pair_separator: str = "="
) -> list[tuple[str, str]]:
    """Split a header like `t=1,v1=ab,v1=cd` into `[("t", "1"), ("v1", "ab"), ("v1", "cd")]`.

    Whitespace around items is ignored; empty items are skipped; an item without the pair
    separator becomes `(item, "")` so callers can ignore it like any unknown scheme. Keys are
    kept as sent (providers compare them exactly). `item_separator=" "` splits on any run of
    whitespace (Standard Webhooks' `v1,<sig> v1,<sig>`).
    """
    if len(value) > MAX_SIGNATURE_HEADER_LENGTH:
        raise SignatureInvalid("The signature header is too long.")
    items = value.split() if item_separator == " " else value.split(item_separator)
    elements: list[tuple[str, str]] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        key, _, val = item.partition(pair_separator)
        elements.append((key.strip(), val.strip()))
    return elements


def single_element(elements: Iterable[tuple[str, str]], key: str, *, header: str) -> str:
    """The one value of `key` among parsed elements; `SignatureInvalid` if absent or repeated."""
    values = [value for name, value in elements if name == key]
    if not values:
        raise SignatureInvalid(f"The {header} header has no {key!r} element.")
    if len(values) > 1:
        raise SignatureInvalid(f"The {header} header repeats the {key!r} element.")
    return values[0]


def strip_prefix(value: str, prefix: str, *, header: str) -> str:
    """`value` without `prefix` (e.g. `sha256=`); `SignatureInvalid` when the prefix is absent."""
    if not value.startswith(prefix):
        raise SignatureInvalid(f"The {header} header does not start with {prefix!r}.")
    return value[len(prefix) :]


# --- timestamps ----------------------------------------------------------------------------


def parse_timestamp(value: str, *, header: str) -> int:
    """Epoch seconds from a header value; `TimestampOutOfTolerance` unless plain digits.

    Negative, fractional, signed, huge (more than 12 digits) and non-ASCII-digit values are
    refused before `int()` is called, so no input can make parsing slow or raise ValueError.
    """
    text = value.strip()
    if not _TIMESTAMP_PATTERN.fullmatch(text):
        raise TimestampOutOfTolerance(f"The {header} timestamp is not a valid epoch time.")
    return int(text)


_MILLIS_PATTERN = re.compile(r"[0-9]{1,15}")
# RFC 3339 as webhook senders write it (Twitch: nanoseconds, `Z`): checked before parsing.
_RFC3339_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_timestamp_as(value: str, *, unit: str, header: str) -> float:
    """Epoch seconds from a timestamp in `unit`: `s` (digits), `ms` (digits, HubSpot, Linear)
    or `rfc3339` (Twitch's `2023-07-19T14:56:51.634234626Z`); `TimestampOutOfTolerance` for
    anything else, before any conversion that could raise."""
    if unit == "s":
        return parse_timestamp(value, header=header)
    text = value.strip()
    if unit == "ms":
        if not _MILLIS_PATTERN.fullmatch(text):
            raise TimestampOutOfTolerance(f"The {header} timestamp is not epoch milliseconds.")
        return int(text) / 1000
    if unit == "rfc3339":
        if not _RFC3339_PATTERN.fullmatch(text):
            raise TimestampOutOfTolerance(f"The {header} timestamp is not an RFC 3339 time.")
        date, _, rest = text.upper().partition("T")
        clock = rest.rstrip("Z")
        offset = "+00:00" if rest.endswith("Z") else clock[-6:]
        clock = clock if rest.endswith("Z") else clock[:-6]
        whole, _, fraction = clock.partition(".")
        try:
            moment = datetime.fromisoformat(f"{date}T{whole}{offset}")
        except ValueError as exc:
            raise TimestampOutOfTolerance(f"The {header} timestamp is not a valid time.") from exc
        return moment.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    raise WebhookConfigurationError(f"Unknown timestamp unit {unit!r}.")


def format_timestamp_as(timestamp: int, *, unit: str) -> str:
    """The text a sender writes for epoch seconds `timestamp` in `unit` (test deliveries)."""
    if unit == "ms":
        return str(timestamp * 1000)
    if unit == "rfc3339":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
    return str(timestamp)


def check_timestamp(timestamp: float, *, now: float, tolerance_seconds: int) -> None:
    """Refuse timestamps more than `tolerance_seconds` in the past *or* in the future.

    Rejecting the future as well as the past bounds the replay window on both sides: a sender
    with a fast clock cannot mint signatures that stay valid for hours.
    """
    if abs(now - timestamp) > tolerance_seconds:
        raise TimestampOutOfTolerance(
            f"The timestamp is outside the {tolerance_seconds} s tolerance."
        )


# --- encodings -----------------------------------------------------------------------------


def hex_to_bytes(value: str) -> bytes | None:
    """Bytes of a hex string, or None when it is not hex (so it can never match)."""
    if not _HEX_PATTERN.fullmatch(value):
        return None
    return bytes.fromhex(value)


def base64_to_bytes(value: str, *, urlsafe: bool = False) -> bytes | None:
    """Bytes of a strict base64 string, or None when it is not base64 (so it can never match)."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(raw)
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def bytes_to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def bytes_to_hex(value: bytes) -> str:
    return value.hex()


def decode_signature(value: str, encoding: str) -> bytes | None:
    """Decode a provided signature (`hex`, `base64`, or `text` for a shared token compared as
    UTF-8); None when it is not valid."""
    if encoding == "text":
        return value.encode("utf-8", "surrogatepass")
    if encoding == "hex":
        return hex_to_bytes(value)
    if encoding == "base64":
        return base64_to_bytes(value)
    raise WebhookConfigurationError(f"Unknown signature encoding {encoding!r}.")


def encode_signature(value: bytes, encoding: str) -> str:
    if encoding == "text":
        return value.decode("utf-8")
    if encoding == "hex":
        return bytes_to_hex(value)
    if encoding == "base64":
        return bytes_to_base64(value)
    raise WebhookConfigurationError(f"Unknown signature encoding {encoding!r}.")


# --- HMAC ----------------------------------------------------------------------------------


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    """Raw HMAC digest of `message` with `key` (sha1, sha256 or sha512)."""
    try:
        digestmod = HMAC_ALGORITHMS[algorithm]
    except KeyError:
        raise WebhookConfigurationError(f"Unknown HMAC algorithm {algorithm!r}.") from None
    return hmac.new(key, message, digestmod).digest()


def hmac_digests(
    keys: Iterable[bytes], messages: Sequence[bytes], algorithm: str = "sha256"
) -> list[bytes]:
    """The HMAC of every message by every key (what a genuine signature may be)."""
    return [hmac_digest(key, message, algorithm) for message in messages for key in keys]


def secret_to_key(secret: str, encoding: str = "utf8") -> bytes:
    """The HMAC key bytes of a stored secret: its UTF-8 bytes, or its `hex`/`base64` decoding
    (`EndpointSettingInvalid` on `secret` when it does not decode)."""
    if encoding == "utf8":
        return secret.encode("utf-8")
    text = secret.strip()
    decoded = hex_to_bytes(text) if encoding == "hex" else base64_to_bytes(text)
    if not decoded:
        raise EndpointSettingInvalid(
            f"A secret is not valid {encoding} (its secret encoding).", field="secret"
        )
    return decoded


def render_signed_content(template: str, *, body: bytes, values: Mapping[str, str]) -> bytes:
    """`template` (which holds `{body}` exactly once) with the body's bytes in place and each
    other placeholder replaced by its text, UTF-8 encoded."""
    before, _, after = template.partition("{body}")

    def fill(text: str) -> bytes:
        # One pass: a value that contains a placeholder's text is never substituted again.
        filled = _PLACEHOLDER.sub(lambda match: values.get(match.group(0), match.group(0)), text)
        return filled.encode("utf-8", "replace")

    return fill(before) + body + fill(after)


def sha256_hex(message: bytes) -> str:
    """Hex SHA-256 of `message` (Twilio's bodySHA256, fallback event ids)."""
    return hashlib.sha256(message).hexdigest()


def signature_matches(expected: Iterable[bytes], provided: Iterable[bytes | None]) -> bool:
    """True when any provided signature equals any expected one, in constant time.

    Every pair is compared (no early exit) so the time taken does not depend on which secret or
    which provided signature matched. Undecodable provided signatures (None) never match.
    """
    expected_list = list(expected)
    matched = False
    for candidate in provided:
        if candidate is None:
            continue
        for reference in expected_list:
            matched |= hmac.compare_digest(reference, candidate)
    return matched


def text_matches(expected: str, provided: str) -> bool:
    """Constant-time equality of two strings (compared as UTF-8 bytes)."""
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8"))


def require_secrets(secrets: Iterable[str], *, provider: str) -> tuple[str, ...]:
    """The endpoint's secrets; `WebhookConfigurationError` when there is none to verify with."""
    active = tuple(secret for secret in secrets if secret)
    if not active:
        raise WebhookConfigurationError(f"The {provider} endpoint has no active secret.")
    return active


def verify_hmac(
    *,
    secrets: Iterable[bytes],
    message: bytes,
    provided: Iterable[bytes | None],
    algorithm: str = "sha256",
    header: str,
) -> None:
    """`SignatureInvalid` unless one provided signature is the HMAC of `message` by a secret."""
    expected = [hmac_digest(key, message, algorithm) for key in secrets]
    if not signature_matches(expected, provided):
        raise SignatureInvalid(f"The {header} signature does not match.")


# --- ECDSA (SendGrid's signed event webhook) ------------------------------------------------


EcPublicKey = ec.EllipticCurvePublicKey


@lru_cache(maxsize=64)
def load_ec_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """An EC public key from PEM or from base64 DER (as SendGrid's settings page shows it).

    Cached: the hot path verifies many deliveries with the same few keys.
    """
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            der = base64_to_bytes("".join(text.split()))
            if der is None:
                raise ValueError("not base64")
            key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise WebhookConfigurationError(
            "The endpoint's public key is not a PEM or base64 DER public key."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise WebhookConfigurationError("The endpoint's public key is not an EC key.")
    return key


def load_ec_private_key(value: str) -> ec.EllipticCurvePrivateKey:
    """An EC private key from PEM (test signing only; SendGrid never hands its key out)."""
    try:
        key = serialization.load_pem_private_key(value.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise WebhookConfigurationError(
            "The test private key is not an unencrypted PEM key."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise WebhookConfigurationError("The test private key is not an EC key.")
    return key


def ecdsa_verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    """True when `signature` (DER) is a valid ECDSA/SHA-256 signature of `message`."""
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def ecdsa_sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """DER ECDSA/SHA-256 signature of `message`."""
    return private_key.sign(message, ec.ECDSA(hashes.SHA256()))


def generate_ec_key_pair() -> tuple[str, str]:
    """A new P-256 key pair as (private PEM, public base64 DER) — for tests and local setups."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, bytes_to_base64(public_der)
