"""Alert rules fire and clear, each change is logged once and signalled; the e-mail receiver."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.utils import timezone

from integrations.core.exceptions import IntegrationError
from integrations.ops.alerts import (
    Alert,
    alert_cleared,
    alert_raised,
    alerts_evaluate,
    alerts_sync,
)
from integrations.ops.report import (
    EndpointHealth,
    HealthReport,
    OAuthHealth,
    OAuthProviderHealth,
    OutboxActionHealth,
    OutboxHealth,
    ServiceHealth,
)
from integrations.ops.services import health_check
from integrations.outbound.http import ServiceClient
from tests.oauth_accounts.factories import make_account
from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import VerificationFailureCount

from .conftest import BASE

pytestmark = pytest.mark.django_db


def _service(**overrides):
    return ServiceHealth(**{"name": "acme", "attempts": 100, **overrides})


def _endpoint(**overrides):
    return EndpointHealth(**{"slug": "shop", **overrides})


def _provider(**overrides):
    return OAuthProviderHealth(**overrides)


def _report(*, services=(), endpoints=(), providers=None, outbox=None):
    return HealthReport(
        generated_at="2026-01-01T00:00:00+00:00",
        window_seconds=900,
        services=tuple(services),
        endpoints=tuple(endpoints),
        oauth=OAuthHealth(providers=providers or {}),
        outbox=outbox,
    )


def _outbox(**dead_by_action):
    return OutboxHealth(
        dead=sum(dead_by_action.values()),
        by_action={action: OutboxActionHealth(dead=n) for action, n in dead_by_action.items()},
    )


def _codes(report):
    return {(alert.code, alert.subject) for alert in alerts_evaluate(_report(**report))}


@pytest.mark.parametrize(
    ("healthy", "unhealthy", "code", "subject"),
    [
        (
            {"services": [_service(error_rate=0.05)]},
            {"services": [_service(error_rate=0.06)]},
            "outbound_error_rate",
            "acme",
        ),
        (
            {"services": [_service(error_rate=0.9, attempts=19)]},
            {"services": [_service(error_rate=0.9, attempts=20)]},
            "outbound_error_rate",
            "acme",
        ),
        (
            {"services": [_service()]},
            {"services": [_service(breaker_state="open")]},
            "breaker_open",
            "acme",
        ),
        (
            {"services": [_service()]},
            {"services": [_service(breaker_state="half-open")]},
            "breaker_open",
            "acme",
        ),
        (
            {"endpoints": [_endpoint(verification_failures_this_hour=10)]},
            {"endpoints": [_endpoint(verification_failures_last_hour=11)]},
            "webhook_verification_failures",
            "shop",
        ),
        (
            {"endpoints": [_endpoint(lag_seconds=300)]},
            {"endpoints": [_endpoint(lag_seconds=301)]},
            "webhook_lag",
            "shop",
        ),
        (
            {"endpoints": [_endpoint(dead=0)]},
            {"endpoints": [_endpoint(dead=1)]},
            "webhook_dead_events",
            "shop",
        ),
        (
            {"providers": {"github": _provider()}},
            {"providers": {"github": _provider(refresh_failing=1)}},
            "oauth_refresh_failures",
            "github",
        ),
        (
            {"outbox": _outbox(email_send=0)},
            {"outbox": _outbox(email_send=1)},
            "outbox_dead_items",
            "email_send",
        ),
    ],
)
def test_each_rule_fires_above_its_threshold_only(healthy, unhealthy, code, subject):
    assert _codes(healthy) == set()
    assert _codes(unhealthy) == {(code, subject)}


def test_thresholds_are_settings(settings):
    report = {"endpoints": [_endpoint(lag_seconds=100)]}
    assert _codes(report) == set()
    settings.ALERT_WEBHOOK_LAG_SECONDS = 60
    assert _codes(report) == {("webhook_lag", "shop")}


def test_each_state_change_is_logged_once_and_signalled(fake, caplog):
    received = []

    def on_raised(sender, alert, **kwargs):
        received.append(("raised", alert.key))

    def on_cleared(sender, alert, **kwargs):
        received.append(("cleared", alert.key))

    alert_raised.connect(on_raised)
    alert_cleared.connect(on_cleared)
    alert = Alert("webhook_lag", "shop", "shop: lagging", 400, 300)
    try:
        with caplog.at_level(logging.INFO, logger="integrations.ops.alerts"):
            assert alerts_sync([alert]) == ([alert], [])
            assert alerts_sync([alert]) == ([], [])  # still active: nothing new
            raised, cleared = alerts_sync([])
            assert raised == []
            assert [a.key for a in cleared] == ["webhook_lag:shop"]
            assert alerts_sync([]) == ([], [])
    finally:
        alert_raised.disconnect(on_raised)
        alert_cleared.disconnect(on_cleared)
    assert received == [("raised", "webhook_lag:shop"), ("cleared", "webhook_lag:shop")]
    events = [
        r.event for r in caplog.records if getattr(r, "event", "").startswith("integrations.alert")
    ]
    assert events == ["integrations.alert.raised", "integrations.alert.cleared"]


def test_rules_fire_and_clear_from_the_real_state(fake):
    now = timezone.now()
    endpoint = make_endpoint(slug="shop")
    stale = make_event(endpoint=endpoint, status="pending", received_at=now - timedelta(hours=1))
    dead = make_event(endpoint=endpoint, status="dead")
    VerificationFailureCount.objects.create(
        endpoint=endpoint,
        hour=now.replace(minute=0, second=0, microsecond=0),
        reason="bad_signature",
        count=11,
    )
    account = make_account(provider="github", failure_count=1)
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=500)
        for _ in range(2):
            with pytest.raises(IntegrationError):
                ServiceClient("acme").get("/x")
    report = health_check()
    assert {(a.code, a.subject) for a in report.alerts} == {
        ("breaker_open", "acme"),
        ("webhook_lag", "shop"),
        ("webhook_dead_events", "shop"),
        ("webhook_verification_failures", "shop"),
        ("oauth_refresh_failures", "github"),
    }
    assert all(a.since for a in report.alerts)
    assert report.healthy is False

    stale.status = "processed"
    stale.save()
    dead.delete()
    VerificationFailureCount.objects.all().delete()
    account.failure_count = 0
    account.save()
    fake.advance(60)  # past the breaker's reset timeout: a success closes it
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=200)
        ServiceClient("acme").get("/x")
    report = health_check()
    assert report.alerts == ()
    assert report.healthy is True


def test_error_rate_alert_from_real_calls(fake, settings):
    settings.INTEGRATIONS_SERVICES = {"acme": {"base_url": BASE, "retries": 0}}
    settings.ALERT_OUTBOUND_MIN_ATTEMPTS = 10
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/ok", status=200)
        mock.get(f"{BASE}/bad", status=502)
        for _ in range(18):
            ServiceClient("acme").get("/ok")
        for _ in range(2):
            with pytest.raises(IntegrationError):
                ServiceClient("acme").get("/bad")
    alerts = health_check().alerts
    assert [(a.code, a.subject, a.value) for a in alerts] == [("outbound_error_rate", "acme", 0.1)]


def test_email_receiver_is_off_by_default(fake, settings):
    settings.ADMINS = [("", "ops@example.test")]
    alerts_sync([Alert("breaker_open", "acme", "Circuit breaker of acme is open", 1, 0)])
    assert mail.outbox == []


def test_email_receiver_mails_admins_on_raise_and_clear_when_enabled(fake, settings):
    settings.ADMINS = [("", "ops@example.test")]
    settings.ALERT_EMAIL_ADMINS = True
    alert = Alert("breaker_open", "acme", "Circuit breaker of acme is open", 1, 0, "critical")
    alerts_sync([alert])
    alerts_sync([alert])
    alerts_sync([])
    assert [m.subject for m in mail.outbox] == [
        f"{settings.EMAIL_SUBJECT_PREFIX}[RAISED] breaker_open: acme",
        f"{settings.EMAIL_SUBJECT_PREFIX}[cleared] breaker_open: acme",
    ]
    assert mail.outbox[0].to == ["ops@example.test"]
    assert "Circuit breaker of acme is open" in mail.outbox[0].body
