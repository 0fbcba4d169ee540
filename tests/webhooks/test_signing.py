"""The shared signature mechanics in `webhooks.signing` (and the payload helpers of the base)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from webhooks import signing
from webhooks.exceptions import (
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)
from webhooks.providers.base import Headers, ParsedEvent, iso_to_epoch, json_object


def test_rfc_4231_test_case_2_for_each_algorithm() -> None:
    # RFC 4231 §4.3 (key "Jefe"); SHA-1 value from RFC 2202 §3 test case 2.
    message = b"what do ya want for nothing?"
    assert signing.hmac_digest(b"Jefe", message, "sha256").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert signing.hmac_digest(b"Jefe", message, "sha1").hex() == (
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    )
    assert signing.hmac_digest(b"Jefe", message, "sha512").hex().startswith("164b7a7bfcf819e2")


def test_unknown_algorithm_is_a_configuration_error() -> None:
    with pytest.raises(WebhookConfigurationError):
        signing.hmac_digest(b"k", b"m", "md5")


def test_signature_matches_any_pair_and_ignores_undecodable() -> None:
    expected = [b"a" * 32, b"b" * 32]
    assert signing.signature_matches(expected, [None, b"x" * 32, b"b" * 32])
    assert not signing.signature_matches(expected, [None, b"x" * 32])
    assert not signing.signature_matches(expected, [])
    assert not signing.signature_matches([], [b"a" * 32])


def test_signature_matches_compares_every_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    # The first pair matches; the rest must still be compared (no early exit).
    assert signing.signature_matches([b"a", b"b"], [b"a", b"c"])
    assert len(calls) == 4


def test_verify_hmac_accepts_any_secret() -> None:
    message = b"payload"
    good = hmac.new(b"second", message, hashlib.sha256).digest()
    signing.verify_hmac(secrets=[b"first", b"second"], message=message, provided=[good], header="X")
    with pytest.raises(SignatureInvalid):
        signing.verify_hmac(secrets=[b"first"], message=message, provided=[good], header="X")


@pytest.mark.parametrize("value", ["1700000000", " 1700000000 ", "0", "999999999999"])
def test_parse_timestamp_accepts_plain_digits(value: str) -> None:
    assert signing.parse_timestamp(value, header="T") == int(value)


@pytest.mark.parametrize(
    "value",
    ["", "-1", "+1", "1.5", "1e9", "0x10", "\u0661\u0662", "9" * 13, "9" * 5000, "12 34", "nan"],
)
def test_parse_timestamp_rejects_everything_else(value: str) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        signing.parse_timestamp(value, header="T")


@pytest.mark.parametrize(
    ("timestamp", "ok"), [(1000, True), (700, True), (1300, True), (699, False), (1301, False)]
)
def test_check_timestamp_is_symmetric(timestamp: int, ok: bool) -> None:
    if ok:
        signing.check_timestamp(timestamp, now=1000, tolerance_seconds=300)
    else:
        with pytest.raises(TimestampOutOfTolerance):
            signing.check_timestamp(timestamp, now=1000, tolerance_seconds=300)


def test_required_header_is_case_insensitive_and_strict() -> None:
    headers = Headers({"X-Sig": "  abc  ", "X-Blank": "  "})
    assert signing.required_header(headers, "x-sig") == "abc"
    with pytest.raises(SignatureMissing):
        signing.required_header(headers, "X-Blank")
    with pytest.raises(SignatureMissing):
        signing.required_header(headers, "X-Absent")
    with pytest.raises(SignatureInvalid):
        signing.required_header(Headers({"X-Sig": "a" * 9000}), "X-Sig")


def test_parse_signature_elements() -> None:
    assert signing.parse_signature_elements(" t=1, v1=ab ,,v1=cd,junk,v0=") == [
        ("t", "1"),
        ("v1", "ab"),
        ("v1", "cd"),
        ("junk", ""),
        ("v0", ""),
    ]
    assert signing.parse_signature_elements(
        "v1,AA==  v2,BB", item_separator=" ", pair_separator=","
    ) == [
        ("v1", "AA=="),
        ("v2", "BB"),
    ]


def test_single_element_rejects_missing_and_repeated() -> None:
    elements = [("t", "1"), ("t", "2"), ("v1", "a")]
    assert signing.single_element(elements, "v1", header="H") == "a"
    with pytest.raises(SignatureInvalid):
        signing.single_element(elements, "t", header="H")
    with pytest.raises(SignatureInvalid):
        signing.single_element(elements, "x", header="H")


@pytest.mark.parametrize(("value", "expected"), [("00ff", b"\x00\xff"), ("ABcd", b"\xab\xcd")])
def test_hex_to_bytes(value: str, expected: bytes) -> None:
    assert signing.hex_to_bytes(value) == expected


@pytest.mark.parametrize("value", ["", "0", "zz", "0x00", "00 ff", "\u0660\u0660"])
def test_hex_to_bytes_refuses_non_hex(value: str) -> None:
    assert signing.hex_to_bytes(value) is None


def test_base64_to_bytes_is_strict() -> None:
    assert signing.base64_to_bytes("YWJj") == b"abc"
    for value in ("YWJj!", "YW Jj", "é", "YWJ"):
        assert signing.base64_to_bytes(value) is None


def test_ecdsa_round_trip_and_key_formats() -> None:
    private_pem, public_b64 = signing.generate_ec_key_pair()
    private = signing.load_ec_private_key(private_pem)
    public = signing.load_ec_public_key(public_b64)
    signature = signing.ecdsa_sign(private, b"123payload")
    assert signing.ecdsa_verify(public, signature, b"123payload")
    assert not signing.ecdsa_verify(public, signature, b"124payload")
    assert not signing.ecdsa_verify(public, b"\x30\x00", b"123payload")
    for bad in ("", "!!", "AAAA"):
        with pytest.raises(WebhookConfigurationError):
            signing.load_ec_public_key(bad)
    with pytest.raises(WebhookConfigurationError):
        signing.load_ec_private_key("not a key")


def test_require_secrets() -> None:
    assert signing.require_secrets(("", "a"), provider="p") == ("a",)
    with pytest.raises(WebhookConfigurationError):
        signing.require_secrets((), provider="p")


def test_parsed_event_refuses_unstorable_identifiers() -> None:
    ParsedEvent(event_id="evt_1", event_type="a.b", body=b"")
    for event_id in ("", "a\x00b", "a\udc80", "x" * 256, "line\nbreak"):
        with pytest.raises(MalformedPayload):
            ParsedEvent(event_id=event_id, event_type="a.b", body=b"")


def test_json_object_and_iso_helpers() -> None:
    assert json_object(b'{"a": 1}') == {"a": 1}
    for raw in (b"[1]", b"nope", b"\xff", b"[" * 100_000):
        with pytest.raises(MalformedPayload):
            json_object(raw)
    assert iso_to_epoch("1970-01-01T00:01:00Z") == 60
    assert iso_to_epoch("1970-01-01T00:01:00") == 60
    assert iso_to_epoch("yesterday") is None
    assert iso_to_epoch(5) is None
