"""Redaction keeps ordinary words and error codes, and still catches secrets by name and shape.

The kept words are Stripe's documented error `code`/`type` values and common status words
(https://docs.stripe.com/error-codes); every secret is generated here at run time.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets

import pytest

from integrations.core.redaction import (
    REDACTED,
    RedactingFilter,
    redact_data,
    redact_text,
    redact_url,
)


def random_b64(n: int = 24) -> str:
    return base64.b64encode(secrets.token_bytes(n)).decode()


@pytest.mark.parametrize(
    "text",
    [
        "stripe payment failed code=card_declined decline_code=insufficient_funds",
        "status=failed type=invalid_request_error code=resource_missing",
        "code=authentication_required key=idempotency_key_in_use",
        "refresh failed: token expired; Bearer authentication was refused",
        'error {"code": "card_declined", "type": "card_error", "status": "failed"}',
        "the api key is missing; set STRIPE_SECRET_KEY",
    ],
)
def test_ordinary_words_and_error_codes_are_kept_verbatim(text):
    assert redact_text(text) == text


def test_code_card_declined_is_kept_and_an_email_address_is_redacted():
    text = "charge refused code=card_declined for jenny.rosen@example.com, retry later"
    redacted = redact_text(text)
    assert "code=card_declined" in redacted
    assert "jenny.rosen" not in redacted
    assert "example.com" not in redacted
    assert redacted == f"charge refused code=card_declined for {REDACTED}, retry later"


def test_an_oauth_code_under_the_same_name_is_still_redacted():
    code = "4/0A" + secrets.token_urlsafe(24)
    github_code = secrets.token_hex(10)
    text = f"callback code={code}&state=abc; then code={github_code}"
    redacted = redact_text(text)
    assert code not in redacted
    assert github_code not in redacted
    assert "state=abc" in redacted
    url = redact_url(f"https://app.test/cb?code={github_code}&state=xyz&error=access_denied")
    assert url == f"https://app.test/cb?code={REDACTED}&state=xyz&error=access_denied"


@pytest.mark.parametrize(
    "template",
    [
        "using api key {hex}",
        "secret: {b64}",
        "password was {b64}",
        "Authorization: Bearer {b64}",
        "token {hex}",
        "postgres://liaison:{hex}@db.internal:5432/liaison",
        "https://hooks.test/notify?access_token={hex}&ok=1",
        "rk_live_{alnum}",
        "sk_test_{alnum}",
        "whsec_{alnum}",
        "SG.{alnum}.{alnum}",
        "{jwt}",
    ],
)
def test_secret_shapes_in_free_text_are_redacted(template):
    alnum = secrets.token_hex(12) + "Ab"
    jwt = ".".join(
        base64.urlsafe_b64encode(part).decode().rstrip("=")
        for part in (b'{"alg":"HS256","typ":"JWT"}', b'{"sub":"42"}', secrets.token_bytes(32))
    )
    values = {"hex": secrets.token_hex(16), "b64": random_b64(), "alnum": alnum, "jwt": jwt}
    text = template.format(**values)
    redacted = redact_text(text)
    for value in values.values():
        assert value not in redacted, redacted
    assert REDACTED in redacted


def test_payload_fields_keep_error_codes_and_redact_credentials():
    token = secrets.token_hex(16)
    payload = {
        "error": {
            "code": "card_declined",
            "type": "card_error",
            "message": "Your card was declined.",
        },
        "code": token,
        "access_token": "plainword",
        "status": "failed",
    }
    assert redact_data(payload) == {
        "error": {
            "code": "card_declined",
            "type": "card_error",
            "message": "Your card was declined.",
        },
        "code": REDACTED,
        "access_token": REDACTED,  # never a word: always redacted
        "status": "failed",
    }
    assert token not in redact_text(json.dumps(payload))
    assert '"code": "card_declined"' in redact_text(json.dumps(payload))


def test_the_logging_filter_keys_structured_fields_by_name():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s code=%(code)s key=%(api_key)s to=%(to)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction.words")
    logger.addHandler(handler)
    logger.propagate = False
    api_key = "SG." + secrets.token_hex(8) + "." + secrets.token_hex(8)
    try:
        logger.warning(
            "integrations.alert.raised subject=acme status=failed",
            extra={"code": "breaker_open", "api_key": api_key, "to": "ops@example.org"},
        )
        logger.warning(
            "oauth failed", extra={"code": secrets.token_hex(10), "api_key": "x", "to": ""}
        )
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = stream.getvalue().splitlines()
    assert first == (
        f"integrations.alert.raised subject=acme status=failed code=breaker_open "
        f"key={REDACTED} to={REDACTED}"
    )
    assert second == f"oauth failed code={REDACTED} key={REDACTED} to="
