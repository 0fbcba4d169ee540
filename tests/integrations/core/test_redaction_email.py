"""Email addresses never reach logs or stored error messages (personal data)."""

from __future__ import annotations

from integrations.core.redaction import redact_text


def test_an_email_address_in_free_text_is_redacted():
    text = 'DataError: value too long in INSERT … ("jenny.rosen+tag@example.co.uk", 42)'
    redacted = redact_text(text)
    assert "jenny.rosen" not in redacted
    assert "example.co.uk" not in redacted
    assert redacted.startswith("DataError: value too long in INSERT")


def test_text_without_an_address_is_left_alone():
    assert redact_text("retry at 12:00 @ the gateway") == "retry at 12:00 @ the gateway"
