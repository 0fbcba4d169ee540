"""The reference settings set a Liaison app setting only when the environment provides it.

Every default lives in the owning app's conf.py; config/settings.py must not repeat it (so a
host project that copies nothing from it gets the same behaviour).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from integrations.ops import conf as ops_conf
from oauth_accounts import conf as oauth_conf
from webhooks import conf as webhooks_conf


@pytest.fixture
def reload_settings(monkeypatch) -> Iterator[ModuleType]:
    import config.settings as real_settings

    for name in (
        "WEBHOOKS_PROCESSING_LEASE_SECONDS",
        "WEBHOOKS_RETRY_SCHEDULE",
        "WEBHOOKS_DISPATCH_INTERVAL_SECONDS",
        "OAUTH_REFRESH_EVERY_MINUTES",
        "ALERTS_CHECK_INTERVAL_SECONDS",
        "OAUTH_GITHUB_SCOPES",
        "RATELIMIT_LOGIN",
    ):
        monkeypatch.delenv(name, raising=False)
    yield real_settings
    monkeypatch.undo()
    importlib.reload(real_settings)


def test_absent_variables_leave_the_setting_to_the_app_default(reload_settings):
    module = importlib.reload(reload_settings)

    assert not hasattr(module, "WEBHOOKS_PROCESSING_LEASE_SECONDS")
    assert not hasattr(module, "WEBHOOKS_RETRY_SCHEDULE")
    assert not hasattr(module, "OAUTH_GITHUB_SCOPES")
    assert not hasattr(module, "RATELIMIT_LOGIN")
    schedule = module.CELERY_BEAT_SCHEDULE
    assert schedule["webhooks-dispatch-due"]["schedule"] == float(
        webhooks_conf.DEFAULT_DISPATCH_INTERVAL_SECONDS
    )
    assert schedule["oauth-accounts-refresh-due-tokens"]["schedule"] == (
        oauth_conf.DEFAULT_REFRESH_EVERY_MINUTES * 60.0
    )
    assert schedule["integrations-health-check"]["schedule"] == float(
        ops_conf.DEFAULT_ALERTS_CHECK_INTERVAL_SECONDS
    )


def test_present_variables_are_read_with_their_type(reload_settings, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_PROCESSING_LEASE_SECONDS", "120")
    monkeypatch.setenv("WEBHOOKS_DISPATCH_INTERVAL_SECONDS", "30")
    monkeypatch.setenv("OAUTH_GITHUB_SCOPES", "read:user")
    monkeypatch.setenv("RATELIMIT_LOGIN", "")  # empty text is a value: the limit is off
    monkeypatch.setenv("OAUTH_REFRESH_EVERY_MINUTES", "")  # empty number: the default

    module = importlib.reload(reload_settings)

    assert module.WEBHOOKS_PROCESSING_LEASE_SECONDS == 120
    assert module.OAUTH_GITHUB_SCOPES == ["read:user"]
    assert module.RATELIMIT_LOGIN == ""
    assert not hasattr(module, "OAUTH_REFRESH_EVERY_MINUTES")
    assert module.CELERY_BEAT_SCHEDULE["webhooks-dispatch-due"]["schedule"] == 30.0


def test_a_malformed_retry_schedule_reaches_the_system_check(reload_settings, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_RETRY_SCHEDULE", "60,5m")

    module = importlib.reload(reload_settings)

    # Kept as text so `manage.py check` names the setting (liaison_webhooks.E001).
    assert module.WEBHOOKS_RETRY_SCHEDULE == [60, "5m"]
