"""System checks: a missing or malformed setting is named at `manage.py check` time.

Each case overrides one setting with a bad value and expects `check` to fail with the check id
and the setting's name in the text; the test settings themselves pass every Liaison check.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "oauth_accounts.backends.google.GoogleBackend",
    "oauth_accounts.backends.github.GitHubBackend",
    "oauth_accounts.backends.oidc.OIDCBackend",
]
PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "oauth_accounts.pipeline.require_user",
    "social_core.pipeline.social_auth.associate_user",
    "oauth_accounts.pipeline.store_tokens",
)
NO_OAUTH = {
    "OAUTH_GOOGLE_CLIENT_ID": "",
    "OAUTH_GOOGLE_CLIENT_SECRET": "",
    "OAUTH_GITHUB_CLIENT_ID": "",
    "OAUTH_GITHUB_CLIENT_SECRET": "",
    "OAUTH_OIDC_ISSUER": "",
    "OAUTH_OIDC_CLIENT_ID": "",
    "OAUTH_OIDC_CLIENT_SECRET": "",
}


def liaison_messages() -> list[Any]:
    return [message for message in run_checks() if str(message.id).startswith("liaison_")]


def check_fails(check_id: str, *names: str) -> str:
    with pytest.raises(SystemCheckError) as failure:
        call_command("check")
    text = str(failure.value)
    assert check_id in text
    for name in names:
        assert name in text
    return text


def test_the_test_settings_pass_every_liaison_check():
    assert liaison_messages() == []
    call_command("check")


# --- one bad value per case: (check id, overrides, names the message must contain) ---------

BAD_SETTINGS: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    # integrations.core
    ("liaison_core.E001", {"FIELD_ENCRYPTION_KEYS": []}, ("FIELD_ENCRYPTION_KEYS",)),
    ("liaison_core.E002", {"FIELD_ENCRYPTION_KEYS": "abc,def"}, ("FIELD_ENCRYPTION_KEYS",)),
    ("liaison_core.E004", {"RATELIMIT_LOGIN": "10/minutes"}, ("RATELIMIT_LOGIN",)),
    ("liaison_core.E004", {"RATELIMIT_API_USER": "ten"}, ("RATELIMIT_API_USER",)),
    ("liaison_core.E004", {"RATELIMIT_CONNECT": "0/m"}, ("RATELIMIT_CONNECT",)),
    # integrations.outbound
    ("liaison_outbound.E001", {"INTEGRATIONS_SERVICES": ["stripe"]}, ("INTEGRATIONS_SERVICES",)),
    (
        "liaison_outbound.E001",
        {"INTEGRATIONS_SERVICES": {"acme": "https://api.acme.test"}},
        ("INTEGRATIONS_SERVICES",),
    ),
    (
        "liaison_outbound.E002",
        {"INTEGRATIONS_HTTP_DEFAULTS": "retries=2"},
        ("INTEGRATIONS_HTTP_DEFAULTS",),
    ),
    (
        "liaison_outbound.E003",
        {"INTEGRATIONS_SERVICES": {"stripe": {"read_timout": 5}}},
        ("INTEGRATIONS_SERVICES", "read_timout"),
    ),
    (
        "liaison_outbound.E003",
        {"INTEGRATIONS_HTTP_DEFAULTS": {"retries": "many"}},
        ("INTEGRATIONS_HTTP_DEFAULTS", "retries"),
    ),
    (
        "liaison_outbound.E003",
        {"INTEGRATIONS_SERVICES": {"acme": {"base_url": "http://api.acme.test"}}},
        ("INTEGRATIONS_SERVICES", "base_url"),
    ),
    (
        "liaison_outbound.E004",
        {"INTEGRATIONS_METRICS_WINDOW_SECONDS": "a while"},
        ("INTEGRATIONS_METRICS_WINDOW_SECONDS",),
    ),
    # integrations.payments
    ("liaison_payments.E001", {"STRIPE_API_VERSION": ""}, ("STRIPE_API_VERSION",)),
    ("liaison_payments.E002", {"STRIPE_READ_TIMEOUT": 0}, ("STRIPE_READ_TIMEOUT",)),
    # integrations.email
    (
        "liaison_email.E001",
        {"SENDGRID_PROCESSED_WAIT_SECONDS": -1},
        ("SENDGRID_PROCESSED_WAIT_SECONDS",),
    ),
    # integrations.ops
    (
        "liaison_ops.E001",
        {"METRICS_ALLOWED_IPS": ["10.0.0.0/8", "intranet"]},
        ("METRICS_ALLOWED_IPS", "#2"),
    ),
    ("liaison_ops.E001", {"METRICS_ALLOWED_IPS": "10.0.0.1"}, ("METRICS_ALLOWED_IPS",)),
    ("liaison_ops.E002", {"ALERT_OUTBOUND_ERROR_RATE": "high"}, ("ALERT_OUTBOUND_ERROR_RATE",)),
    # webhooks
    ("liaison_webhooks.E001", {"WEBHOOKS_RETRY_SCHEDULE": [60, 0]}, ("WEBHOOKS_RETRY_SCHEDULE",)),
    (
        "liaison_webhooks.E001",
        {"WEBHOOKS_RETRY_SCHEDULE": [60, "5m"]},
        ("WEBHOOKS_RETRY_SCHEDULE",),
    ),
    ("liaison_webhooks.E001", {"WEBHOOKS_RETRY_SCHEDULE": "60"}, ("WEBHOOKS_RETRY_SCHEDULE",)),
    (
        "liaison_webhooks.E002",
        {"WEBHOOKS_DISPATCH_BATCH_SIZE": 0},
        ("WEBHOOKS_DISPATCH_BATCH_SIZE",),
    ),
    (
        "liaison_webhooks.E002",
        {"WEBHOOKS_EAGER_BATCH_LIMIT": -1},
        ("WEBHOOKS_EAGER_BATCH_LIMIT",),
    ),
    (
        "liaison_webhooks.E002",
        {"WEBHOOKS_RETENTION_DAYS": "a month"},
        ("WEBHOOKS_RETENTION_DAYS",),
    ),
    (
        "liaison_webhooks.E002",
        {"WEBHOOKS_SNS_CERT_CACHE_SECONDS": -5},
        ("WEBHOOKS_SNS_CERT_CACHE_SECONDS",),
    ),
    (
        "liaison_webhooks.E003",
        {"WEBHOOKS_SNS_CERT_HOST_PATTERN": r"sns\.(unclosed"},
        ("WEBHOOKS_SNS_CERT_HOST_PATTERN", "does not compile"),
    ),
    (
        "liaison_ops.E002",
        {"ALERT_WEBHOOK_FAILED_EVENTS": "many"},
        ("ALERT_WEBHOOK_FAILED_EVENTS",),
    ),
    # oauth_accounts
    (
        "liaison_oauth.E001",
        {**NO_OAUTH, "OAUTH_GOOGLE_CLIENT_ID": "client-id"},
        ("OAUTH_GOOGLE_CLIENT_SECRET",),
    ),
    (
        "liaison_oauth.E001",
        {**NO_OAUTH, "OAUTH_GITHUB_CLIENT_SECRET": "s3cret"},
        ("OAUTH_GITHUB_CLIENT_ID",),
    ),
    (
        "liaison_oauth.E002",
        {**NO_OAUTH, "OAUTH_OIDC_CLIENT_ID": "client-id", "OAUTH_OIDC_CLIENT_SECRET": "s3cret"},
        ("OAUTH_OIDC_ISSUER",),
    ),
    (
        "liaison_oauth.E002",
        {
            **NO_OAUTH,
            "OAUTH_OIDC_ISSUER": "ftp://login.example.com",
            "OAUTH_OIDC_CLIENT_ID": "client-id",
            "OAUTH_OIDC_CLIENT_SECRET": "s3cret",
        },
        ("OAUTH_OIDC_ISSUER",),
    ),
    ("liaison_oauth.E003", {"SOCIAL_AUTH_URL_NAMESPACE": "social"}, ("SOCIAL_AUTH_URL_NAMESPACE",)),
    ("liaison_oauth.E003", {"SOCIAL_AUTH_URL_NAMESPACE": None}, ("SOCIAL_AUTH_URL_NAMESPACE",)),
    (
        "liaison_oauth.E004",
        {**NO_OAUTH, "AUTHENTICATION_BACKENDS": BACKENDS[:1]},
        ("AUTHENTICATION_BACKENDS",),
    ),
    (
        "liaison_oauth.E004",
        {
            **NO_OAUTH,
            "OAUTH_GITHUB_CLIENT_ID": "client-id",
            "OAUTH_GITHUB_CLIENT_SECRET": "s3cret",
            "AUTHENTICATION_BACKENDS": [b for b in BACKENDS if "GitHub" not in b],
        },
        ("AUTHENTICATION_BACKENDS", "oauth_accounts.backends.github.GitHubBackend"),
    ),
    (
        "liaison_oauth.E005",
        {"SOCIAL_AUTH_PIPELINE": PIPELINE[:-1]},
        ("SOCIAL_AUTH_PIPELINE", "oauth_accounts.pipeline.store_tokens"),
    ),
    (
        "liaison_oauth.E005",
        {"SOCIAL_AUTH_PIPELINE": (*PIPELINE[:4], *PIPELINE[5:], PIPELINE[4])},
        ("SOCIAL_AUTH_PIPELINE", "order"),
    ),
    (
        "liaison_oauth.E006",
        {"OAUTH_REFRESH_MAX_FAILURES": 0},
        ("OAUTH_REFRESH_MAX_FAILURES",),
    ),
]


@pytest.mark.parametrize(
    ("check_id", "overrides", "names"),
    BAD_SETTINGS,
    ids=[f"{case[0]}-{'-'.join(case[1])}" for case in BAD_SETTINGS],
)
def test_a_bad_setting_fails_check_naming_the_setting(check_id, overrides, names):
    with override_settings(**overrides):
        check_fails(check_id, *names)


def test_a_malformed_encryption_key_is_named_by_position_never_printed():
    bad_key = "not-a-fernet-key-but-secret-looking"
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode(), bad_key]):
        text = check_fails("liaison_core.E003", "FIELD_ENCRYPTION_KEYS", "#2")
    assert bad_key not in text


def test_missing_keys_are_fine_when_no_installed_model_encrypts(monkeypatch):
    from integrations.core import checks

    monkeypatch.setattr(checks, "_uses_encrypted_fields", lambda: False)
    with override_settings(FIELD_ENCRYPTION_KEYS=[]):
        assert liaison_messages() == []


def test_an_empty_rate_switches_the_limit_off_and_passes():
    with override_settings(RATELIMIT_LOGIN="", RATELIMIT_API_ANON=None):
        assert liaison_messages() == []


def test_unset_settings_fall_back_to_the_app_defaults_and_pass():
    from django.conf import settings

    # What a host project that sets none of Liaison's optional settings looks like.
    names = [
        "WEBHOOKS_RETRY_SCHEDULE",
        "INTEGRATIONS_SERVICES",
        "INTEGRATIONS_HTTP_DEFAULTS",
        "STRIPE_API_VERSION",
        "METRICS_ALLOWED_IPS",
        "RATELIMIT_LOGIN",
        "ALERT_OUTBOUND_ERROR_RATE",
    ]
    with override_settings():
        for name in names:
            if hasattr(settings, name):
                delattr(settings, name)
        assert liaison_messages() == []


@pytest.mark.parametrize(
    ("missing", "check_ids"),
    [
        ("integrations.email", ("liaison_payments.E100", "liaison_webhooks.E100")),
        (
            "integrations.outbound",
            (
                "liaison_email.E100",
                "liaison_payments.E100",
                "liaison_ops.E100",
                "liaison_webhooks.E100",
                "liaison_oauth.E100",
            ),
        ),
        ("integrations.core", ("liaison_outbound.E100",)),
        ("integrations.ops", ("liaison_webhooks.E100", "liaison_oauth.E100")),
        ("social_django", ("liaison_oauth.E100",)),
    ],
)
def test_a_missing_app_dependency_is_named(monkeypatch, missing, check_ids):
    # Removing the app for real would fail at start-up (its models are imported); the check
    # itself only asks the registry whether the app is installed.
    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != missing and installed(name))
    text = check_fails(check_ids[0], missing, "INSTALLED_APPS")
    for check_id in check_ids:
        assert check_id in text


@pytest.mark.parametrize(
    ("label", "missing"),
    [
        ("liaison_payments", "integrations.email"),
        ("liaison_email", "integrations.outbound"),
        ("liaison_ops", "integrations.outbound"),
        ("liaison_outbound", "integrations.core"),
    ],
)
def test_a_missing_app_dependency_stops_start_up_with_the_check_text(monkeypatch, label, missing):
    # At start-up the models are imported before any check runs; a missing dependency would
    # otherwise surface as Django's bare "Model class … isn't in INSTALLED_APPS".
    from django.core.exceptions import ImproperlyConfigured

    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != missing and installed(name))
    with pytest.raises(ImproperlyConfigured, match=f"'{missing}' in INSTALLED_APPS") as failure:
        apps.get_app_config(label).import_models()
    assert f"{label}.E100" in str(failure.value)
