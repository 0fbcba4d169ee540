"""Endpoint settings are validated wherever they are saved, by the provider's own rules.

Each unusable setting (an unknown option, an HMAC algorithm such as md5, an `hmac` endpoint
without `header`, a Standard Webhooks secret that is not base64, a SendGrid public key that is
not an ECDSA key) is refused by `WebhookEndpoint.full_clean()`, the admin form and
`manage.py webhook_endpoint`, with a message naming the field; the system check reports
endpoints already stored with such settings.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.urls import reverse

from tests.webhooks.factories import make_endpoint
from webhooks.endpoint_checks import webhook_endpoints_settings_check
from webhooks.models import WebhookEndpoint, WebhookSecret

pytestmark = pytest.mark.django_db


def ec_public_key_b64() -> str:
    """A fresh P-256 public key as SendGrid's settings page shows it (base64 DER)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def standard_secret() -> str:
    return "whsec_" + base64.b64encode(b"k" * 32).decode("ascii")


@dataclass(frozen=True)
class Invalid:
    """One unusable setting, and what the refusal must name."""

    provider: str
    options: dict[str, Any]
    secret: str
    public_key: str
    field: str  # the refused field
    word: str  # a word the message must contain


INVALID = {
    "md5": Invalid("hmac", {"header": "X", "algorithm": "md5"}, "", "", "options", "algorithm"),
    "hmac-no-header": Invalid("hmac", {"algorithm": "sha256"}, "s", "", "options", "header"),
    "hmac-unknown": Invalid("hmac", {"header": "X", "algo": "sha1"}, "s", "", "options", "algo"),
    "stripe-unknown-option": Invalid("stripe", {"header": "X"}, "whsec_x", "", "options", "header"),
    "standard-not-base64": Invalid("standard", {}, "whsec_not base64!", "", "secret", "base64"),
    "sendgrid-garbage-key": Invalid("sendgrid", {}, "", "not a key", "public_key", "public key"),
}  # fmt: skip
COMMAND_OPTION = {"options": "--options", "secret": "--secret", "public_key": "--public-key"}


def unsaved(provider: str, options: dict[str, Any], public_key: str) -> WebhookEndpoint:
    return WebhookEndpoint(provider=provider, slug="bad", options=options, public_key=public_key)


def create_args(provider: str, slug: str, options: Any, secret: str, key: str) -> list[str]:
    args = ["webhook_endpoint", "create", "--provider", provider, "--slug", slug]
    args += ["--options", json.dumps(options)] if options else []
    args += ["--secret", secret] if secret else []
    args += ["--public-key", key] if key else []
    return args


@pytest.mark.parametrize("name", list(INVALID))
def test_model_full_clean_refuses_it_naming_the_field(name):
    case = INVALID[name]
    endpoint = unsaved(case.provider, case.options, case.public_key)
    if case.secret:
        endpoint.stage_secret(case.secret)

    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()

    assert case.field in refused.value.message_dict
    assert case.word in " ".join(refused.value.message_dict[case.field])


@pytest.mark.parametrize("name", list(INVALID))
def test_the_command_refuses_it_naming_the_field(name):
    case = INVALID[name]
    args = create_args(case.provider, "bad", case.options, case.secret, case.public_key)

    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=StringIO())

    assert f"{COMMAND_OPTION[case.field]}:" in str(refused.value)
    assert case.word in str(refused.value)
    assert not WebhookEndpoint.objects.exists()


def admin_form(provider: str, options: dict[str, Any], secret: str, key: str) -> dict[str, str]:
    return {
        "provider": provider,
        "slug": "bad",
        "description": "",
        "active": "on",
        "tolerance_seconds": "300",
        "max_body_bytes": "1048576",
        "options": json.dumps(options),
        "public_key": key,
        "new_secret": secret,
        "duplicate_body_window_hours": "0",
        "secrets-TOTAL_FORMS": "0",
        "secrets-INITIAL_FORMS": "0",
        "secrets-MIN_NUM_FORMS": "0",
        "secrets-MAX_NUM_FORMS": "1000",
    }


FORM_FIELD = {"options": "options", "secret": "new_secret", "public_key": "public_key"}


@pytest.mark.parametrize("name", list(INVALID))
def test_the_admin_form_refuses_it_naming_the_field(admin_client, name):
    case = INVALID[name]
    response = admin_client.post(
        reverse("admin:liaison_webhooks_webhookendpoint_add"),
        admin_form(case.provider, case.options, case.secret, case.public_key),
    )

    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert FORM_FIELD[case.field] in errors
    assert case.word in " ".join(errors[FORM_FIELD[case.field]])
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookSecret.objects.exists()


@pytest.mark.parametrize(
    ("provider", "options", "secret", "key"),
    [
        ("hmac", {"header": "X-Sig", "algorithm": "sha512", "encoding": "base64"}, "s3cr3t", ""),
        ("standard", {}, standard_secret(), ""),
        ("standard", {}, base64.b64encode(b"no prefix").decode(), ""),  # `whsec_` is optional
        ("sendgrid", {}, "", ec_public_key_b64()),
        ("sendgrid", {}, "", ""),  # the key may come later (the endpoint answers 503 until then)
        ("stripe", {}, "", ""),
    ],
)
def test_usable_settings_are_accepted_everywhere(admin_client, provider, options, secret, key):
    endpoint = unsaved(provider, options, key)
    if secret:
        endpoint.stage_secret(secret)
    endpoint.full_clean()

    response = admin_client.post(
        reverse("admin:liaison_webhooks_webhookendpoint_add"),
        admin_form(provider, options, secret, key),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    WebhookEndpoint.objects.all().delete()

    call_command(*create_args(provider, "good", options, secret, key), stdout=StringIO())
    assert WebhookEndpoint.objects.filter(slug="good").exists()


def test_rotating_in_an_unusable_secret_is_refused_by_the_command_and_the_form(admin_client):
    endpoint = make_endpoint(provider="standard", slug="std", secret=standard_secret())

    with pytest.raises(CommandError, match="--secret:"):
        call_command(
            "webhook_endpoint", "rotate-secret", "std", "--secret", "whsec_!!", stdout=StringIO()
        )

    row = endpoint.secrets.get()
    form = {
        **admin_form("standard", {}, "whsec_!!", ""),
        "slug": "std",
        "secrets-TOTAL_FORMS": "1",
        "secrets-INITIAL_FORMS": "1",
        "secrets-0-id": str(row.pk),
        "secrets-0-endpoint": str(endpoint.pk),
        "secrets-0-active": "on",
    }
    response = admin_client.post(
        reverse("admin:liaison_webhooks_webhookendpoint_change", args=[endpoint.pk]), form
    )
    assert response.status_code == 200
    assert "new_secret" in response.context["adminform"].form.errors
    assert endpoint.secrets.count() == 1


def test_the_admin_form_refuses_options_that_break_the_stored_secret(admin_client):
    """Options are checked with the secrets already stored (hmac `secret_encoding`)."""
    endpoint = make_endpoint(provider="hmac", slug="enc", options={"header": "X-Sig"})
    endpoint.secrets.update(active=False)
    WebhookSecret.objects.create(endpoint=endpoint, value="not hex")
    endpoint.options = {"header": "X-Sig", "secret_encoding": "hex"}

    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()

    assert "secret" in refused.value.message_dict


# --- the system check -----------------------------------------------------------------------


def stored_invalid_endpoint() -> WebhookEndpoint:
    # Saved without clean(), as an endpoint created before validation existed would be.
    return WebhookEndpoint.objects.create(
        provider="hmac", slug="legacy-md5", options={"header": "X-Sig", "algorithm": "md5"}
    )


def test_the_system_check_reports_a_stored_invalid_endpoint():
    stored_invalid_endpoint()
    make_endpoint(slug="fine")

    messages = [m for m in run_checks(databases=["default"]) if m.id == "liaison_webhooks.E010"]

    assert len(messages) == 1
    assert "legacy-md5" in messages[0].msg
    assert "options" in messages[0].msg
    assert "algorithm" in messages[0].msg


def test_manage_check_with_the_database_fails_on_a_stored_invalid_endpoint():
    stored_invalid_endpoint()

    with pytest.raises(CommandError, match=r"liaison_webhooks\.E010"):
        call_command("check", "--database", "default", stdout=StringIO(), stderr=StringIO())


def test_the_system_check_is_quiet_when_every_endpoint_is_usable():
    make_endpoint(provider="hmac", slug="ok-hmac", options={"header": "X-Sig"})
    assert webhook_endpoints_settings_check(databases=["default"]) == []


def test_the_system_check_survives_a_database_without_the_table():
    def no_table(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("no such table: liaison_webhooks_webhookendpoint")

    with connection.execute_wrapper(no_table):
        assert webhook_endpoints_settings_check(databases=["default"]) == []
