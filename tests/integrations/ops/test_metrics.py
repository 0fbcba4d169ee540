"""`/metrics`: access control and the documented metric names."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations.core.exceptions import IntegrationError
from integrations.ops.outbound_totals import outbound_totals_clear
from integrations.ops.services import health_check
from integrations.outbound.http import ServiceClient
from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import WebhookEvent

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


def _samples(client, token):
    body = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content.decode()
    families = list(text_string_to_metric_families(body))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families
        for s in family.samples
    }
    return {family.name: family.type for family in families}, samples


def test_exposes_the_documented_metrics(fake, client, token):
    endpoint = make_endpoint(slug="shop")
    make_event(endpoint=endpoint, status="dead")
    now = timezone.now()
    event = make_event(endpoint=endpoint, status="processing", claimed_at=now)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status="processed", processed_at=now + timedelta(seconds=0.3)
    )
    outbound_totals_clear()
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=503)
        for _ in range(2):
            with pytest.raises(IntegrationError):
                ServiceClient("acme").get("/x")
    health_check(sync=True)  # what beat does: records the alerts /metrics reports
    kinds, samples = _samples(client, token)
    assert kinds["liaison_webhook_deliveries"] == "counter"
    assert kinds["liaison_webhook_rejections"] == "counter"
    assert kinds["liaison_webhook_processing"] == "counter"
    assert kinds["liaison_webhook_processing_duration_seconds"] == "histogram"
    assert kinds["liaison_outbound_calls"] == "counter"
    assert kinds["liaison_outbound_call_duration_seconds"] == "histogram"
    # No windowed gauges re-aggregated per scrape.
    names = {name for name, _ in samples}
    assert not any(name.endswith("_recent") for name in names)
    assert "liaison_webhook_processing_lag_seconds" not in names

    shop = (("endpoint", "shop"),)
    stored = (("endpoint", "shop"), ("outcome", "stored"), ("provider", "stripe"))
    assert samples[("liaison_webhook_deliveries_total", stored)] == 2
    assert samples[("liaison_webhook_processing_total", (*shop, ("outcome", "processed")))] == 1
    assert samples[("liaison_webhook_processing_total", (*shop, ("outcome", "dead")))] == 1
    assert samples[("liaison_webhook_events", (*shop, ("status", "dead")))] == 1
    assert samples[("liaison_webhook_processing_duration_seconds_count", shop)] == 1
    assert samples[("liaison_webhook_processing_duration_seconds_sum", shop)] == pytest.approx(
        0.3, abs=0.01
    )
    le = "liaison_webhook_processing_duration_seconds_bucket"
    assert samples[(le, (*shop, ("le", "0.25")))] == 0
    assert samples[(le, (*shop, ("le", "0.5")))] == 1
    assert samples[(le, (*shop, ("le", "+Inf")))] == 1

    acme = (("service", "acme"),)
    assert samples[("liaison_outbound_calls_total", (("outcome", "failure"), *acme))] == 2
    assert samples[("liaison_outbound_call_duration_seconds_count", acme)] == 2
    assert samples[("liaison_outbound_breaker_state", (*acme, ("state", "open")))] == 1
    assert samples[("liaison_outbound_breaker_state", (*acme, ("state", "closed")))] == 0
    assert samples[("liaison_alerts_active", (("code", "breaker_open"),))] == 1
    assert samples[("liaison_alerts_active", (("code", "webhook_dead_events"),))] == 1


def test_rejections_are_counted_by_reason(fake, client, token):
    endpoint = make_endpoint(slug="shop")
    client.post(
        f"/webhooks/{endpoint.slug}/",
        data=b"{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )
    _, samples = _samples(client, token)
    rejected = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "liaison_webhook_rejections_total"
    }
    assert sum(rejected.values()) == 1
    assert all(dict(labels)["endpoint"] == "shop" for labels in rejected)


def _scrape_queries(client, token):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_a_scrape_reads_only_small_tables(fake, client, token):
    endpoint = make_endpoint(slug="shop")
    make_event(endpoint=endpoint, status="processed")
    few = _scrape_queries(client, token)
    for status in ("processed", "failed", "dead", "pending", "ignored") * 4:
        make_event(endpoint=endpoint, status=status)
    many = _scrape_queries(client, token)
    # The same statements whatever the log holds, all reads, none on the event table.
    assert len(many) == len(few)
    event_table = WebhookEvent._meta.db_table
    assert not [sql for sql in many if f'"{event_table}"' in sql]
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in many)
    tables = {sql.split(" FROM ", 1)[1].split()[0].strip('"') for sql in many if " FROM " in sql}
    assert tables <= {
        "liaison_webhooks_webhookeventtally",
        # Stored events the counters have not folded in yet: a batch or two at most.
        "liaison_webhooks_webhookeventarrival",
        "liaison_webhooks_webhookendpoint",
        "liaison_oauth_connectedaccount",
        "liaison_outbound_breakertransition",
    }, tables
