"""`/metrics`: access control and the documented metric names."""

from __future__ import annotations

import secrets

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families

from integrations.core.exceptions import IntegrationError
from integrations.outbound.http import ServiceClient
from tests.webhooks.factories import make_endpoint, make_event

from .conftest import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    value = f"test-metrics-{secrets.token_hex(8)}"
    settings.METRICS_TOKEN = value
    return value


def test_token_is_required_when_configured(fake, client, token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_allow_list_admits_listed_networks_only(fake, client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_without_configuration_metrics_are_off_even_for_loopback(fake, client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 403


def test_with_debug_and_no_configuration_only_loopback_is_allowed(fake, client, settings):
    settings.DEBUG = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 403


def test_exposes_the_documented_metrics(fake, client, token):
    endpoint = make_endpoint(slug="shop")
    make_event(endpoint=endpoint, status="dead")
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=503)
        for _ in range(2):
            with pytest.raises(IntegrationError):
                ServiceClient("acme").get("/x")
    body = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    names = {name for name, _ in samples}
    for name in (
        "liaison_outbound_calls_recent",
        "liaison_outbound_attempts_recent",
        "liaison_outbound_errors_recent",
        "liaison_outbound_error_ratio",
        "liaison_outbound_breaker_state",
        "liaison_outbound_breaker_trips_total",
        "liaison_outbound_rate_limit_utilization",
        "liaison_outbound_rate_limit_waits_recent",
        "liaison_outbound_latency_ms",
        "liaison_webhook_deliveries_total",
        "liaison_webhook_events",
        "liaison_webhook_processing_lag_seconds",
        "liaison_webhook_verification_failures_hour",
        "liaison_alerts_active",
    ):
        assert name in names, name
    assert (
        samples[("liaison_outbound_breaker_state", (("service", "acme"), ("state", "open")))] == 1
    )
    assert (
        samples[("liaison_outbound_breaker_state", (("service", "acme"), ("state", "closed")))] == 0
    )
    assert samples[("liaison_outbound_calls_recent", (("service", "acme"),))] == 2
    assert (
        samples[("liaison_outbound_errors_recent", (("error", "ServerError"), ("service", "acme")))]
        == 2
    )
    assert samples[("liaison_webhook_deliveries_total", (("endpoint", "shop"),))] == 1
    assert samples[("liaison_webhook_events", (("endpoint", "shop"), ("status", "dead")))] == 1
    assert samples[("liaison_alerts_active", (("code", "breaker_open"),))] == 1
    assert samples[("liaison_alerts_active", (("code", "webhook_dead_events"),))] == 1
