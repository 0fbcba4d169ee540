"""Password reset (`/accounts/password_reset/`): limited per address and per client, and the
reset link never printed to the logs in production (issue 18).

The suite's settings leave the password-reset limits at their defaults (5/h per address, 20/h
per client IP), so these tests run with the documented values unless they say otherwise.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import pytest
from django.core import mail

from integrations.core import conf
from integrations.core.redaction import redact_text, redact_url
from integrations.email.models import EmailMessage
from tests.oauth_accounts.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/accounts/password_reset/"
ADDRESS = "victim@example.com"
RESET_LINK = re.compile(r"/accounts/reset/[^/\s]+/[^/\s]+/")


@pytest.fixture
def victim() -> Any:
    user = make_user("victim")
    user.email = ADDRESS
    user.set_password(secrets.token_urlsafe(16))  # reset mail goes to usable passwords only
    user.save()
    return user


def _reset(client: Any, email: str, ip: str = "198.51.100.1") -> Any:
    return client.post(URL, {"email": email}, REMOTE_ADDR=ip)


def test_the_documented_defaults_are_five_per_address_and_twenty_per_client():
    assert conf.rate_limit("password_reset_email") == "5/h"
    assert conf.rate_limit("password_reset") == "20/h"


def test_a_sixth_request_for_one_address_within_an_hour_is_refused(client, victim):
    # From five different clients: the per-address limit, not the per-client one.
    answers = [_reset(client, ADDRESS, ip=f"198.51.100.{n}") for n in range(5)]
    assert [a.status_code for a in answers] == [302] * 5
    assert len(mail.outbox) == 5

    refused = _reset(client, ADDRESS, ip="203.0.113.9")

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert len(mail.outbox) == 5  # no sixth email


def test_the_address_is_counted_whatever_its_case_and_spaces(client, victim):
    for variant in (ADDRESS, ADDRESS.upper(), f" {ADDRESS} ", "Victim@Example.COM", ADDRESS):
        assert _reset(client, variant).status_code == 302

    assert _reset(client, "VICTIM@example.com").status_code == 429


def test_a_refusal_does_not_tell_whether_the_address_exists(client, victim):
    unknown = "nobody-here@example.com"
    for _ in range(5):
        known_answer = _reset(client, ADDRESS, ip="198.51.100.1")
        unknown_answer = _reset(client, unknown, ip="198.51.100.2")
        assert known_answer.status_code == unknown_answer.status_code == 302
        assert known_answer["Location"] == unknown_answer["Location"]

    known_refused = _reset(client, ADDRESS, ip="198.51.100.3")
    unknown_refused = _reset(client, unknown, ip="198.51.100.4")

    assert known_refused.status_code == unknown_refused.status_code == 429
    # The same answer; only the wait differs (each key's window starts at its own offset).
    seconds = re.compile(rb"\d+ seconds")
    assert seconds.sub(b"", known_refused.content) == seconds.sub(b"", unknown_refused.content)
    assert len(mail.outbox) == 5  # only the known address ever got mail


def test_one_client_is_limited_across_addresses(client, settings, victim):
    settings.RATELIMIT_PASSWORD_RESET = "3/h"

    statuses = [_reset(client, f"user{n}@example.com").status_code for n in range(3)]
    assert statuses == [302, 302, 302]

    assert _reset(client, ADDRESS).status_code == 429
    assert _reset(client, ADDRESS, ip="203.0.113.9").status_code == 302  # another client


def test_the_form_still_shows_when_limited(client, victim):
    for _ in range(6):
        _reset(client, ADDRESS)

    assert client.get(URL).status_code == 200


@pytest.fixture
def console_email(settings) -> None:
    """The reference project's email path with no SendGrid key: recorded, printed at most."""
    settings.EMAIL_BACKEND = "integrations.email.backend.SendGridBackend"
    settings.SENDGRID_API_KEY = ""


def _recorded_link() -> str:
    message = EmailMessage.objects.order_by("-pk")[0]
    found = RESET_LINK.search(message.request.get("text") or "")
    assert found, "the recorded message should hold the reset link"
    return found.group(0)


def test_no_reset_link_reaches_the_logs_with_debug_off(
    client, settings, victim, console_email, capsys, caplog
):
    settings.DEBUG = False
    caplog.set_level(logging.DEBUG)

    assert _reset(client, ADDRESS).status_code == 302

    link = _recorded_link()
    token = link.rstrip("/").rsplit("/", 1)[1]
    printed = capsys.readouterr()
    logged = caplog.text + printed.out + printed.err
    assert "NOT sent" in printed.out  # that a message was recorded and not sent is said
    assert token not in logged
    assert "/accounts/reset/" not in logged
    assert ADDRESS not in logged
    assert EmailMessage.objects.order_by("-pk")[0].transport == EmailMessage.Transport.CONSOLE


def test_with_debug_on_the_message_is_printed_with_the_link_redacted(
    client, settings, victim, console_email, capsys
):
    settings.DEBUG = True

    assert _reset(client, ADDRESS).status_code == 302

    link = _recorded_link()
    token = link.rstrip("/").rsplit("/", 1)[1]
    printed = capsys.readouterr().out
    assert "Subject:" in printed  # the content is shown in development
    assert "/accounts/reset/[REDACTED]/" in printed
    assert token not in printed


def test_reset_links_and_tokens_are_redacted_wherever_they_are_logged():
    token = "diwsj1-6a1e1ed315e5ba6445c61bbfe22dd4c3"  # Django's <base36>-<32 hex> shape
    link = f"https://liaison.example/accounts/reset/MQ/{token}/"

    assert redact_text(f"Reset here: {link} (valid 3 days)") == (
        "Reset here: https://liaison.example/accounts/reset/[REDACTED]/ (valid 3 days)"
    )
    assert token not in redact_url(link)
    assert redact_text(f"token {token} used") == "token [REDACTED] used"
    request_id = "6a1e1ed315e5ba6445c61bbfe22dd4c3"
    assert redact_text(f"[{request_id}] GET /accounts/password_reset/") == (
        f"[{request_id}] GET /accounts/password_reset/"
    )
