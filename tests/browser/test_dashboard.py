"""In a real browser: the admin health dashboard shows the breaker a failing service opened.

The failures go through the resilient client in this process; the live server thread reads the
same breaker state (in-process state in the embedded mode, Redis in the services mode), under a
fresh key prefix for this test.
"""

from __future__ import annotations

import secrets

import pytest
import responses
from django.contrib.auth import get_user_model

from integrations.core.exceptions import IntegrationError, ServiceUnavailable
from integrations.outbound.http import ServiceClient
from tests.browser.conftest import admin_login, screenshot
from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_shows_the_breaker_opened_by_a_failing_service(
    page, settings, fresh_outbound_state
):
    settings.INTEGRATIONS_SERVICES = {
        "acme": {
            "base_url": "https://api.acme.example.test",
            "retries": 0,
            "breaker_fail_max": 3,
            "breaker_min_calls": 3,
            "breaker_reset_timeout": 600,
        }
    }
    client = ServiceClient("acme")
    with responses.RequestsMock() as mocked:
        mocked.get("https://api.acme.example.test/v1/orders", status=503)
        for _ in range(3):
            with pytest.raises(IntegrationError):
                client.get("/v1/orders")
        # Open now: the next call fails fast without reaching the service.
        with pytest.raises(ServiceUnavailable):
            client.get("/v1/orders")
        assert len(mocked.calls) == 3
    endpoint = make_endpoint(provider="stripe", slug="stripe-live")
    make_event(endpoint=endpoint, status=WebhookEvent.Status.PROCESSED)
    password = secrets.token_urlsafe(16)
    get_user_model().objects.create_superuser("ops", "ops@example.com", password)
    admin_login(page, "ops", password)

    page.click("a[href='/admin/liaison_ops/health/']")
    page.wait_for_url("**/admin/liaison_ops/health/")

    acme = page.locator("tr[data-service='acme']")
    assert acme.get_attribute("data-breaker-state") == "open"
    assert "open" in acme.locator("[data-breaker-state]").last.inner_text()
    stripe = page.locator("tr[data-service='stripe']")
    assert stripe.get_attribute("data-breaker-state") == "closed"
    alert = page.locator("[data-alert='breaker_open'][data-alert-subject='acme']")
    assert alert.count() >= 1
    assert page.locator("tr[data-endpoint='stripe-live']").count() == 1
    screenshot(page, "dashboard.png")
