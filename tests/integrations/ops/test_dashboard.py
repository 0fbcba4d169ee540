"""The admin health dashboard: access, breaker state from real failures, alerts on the index."""

from __future__ import annotations

import pytest
import responses
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.core.exceptions import IntegrationError
from integrations.outbound.http import ServiceClient

from .conftest import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("ops", password=None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_health"))
    client.force_login(user)
    return client


def _fail_acme(times: int) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/charge", status=503)
        for _ in range(times):
            with pytest.raises(IntegrationError):
                ServiceClient("acme").get("/charge")


def test_dashboard_url_is_under_the_stock_admin_site():
    assert reverse("admin:liaison_ops_health_changelist") == "/admin/liaison_ops/health/"
    # Django's own AdminSite serves it: no replacement site is installed.
    assert type(admin.site).__module__ == "django.contrib.admin.sites"


def test_staff_without_the_view_permission_is_refused(fake, client):
    client.force_login(get_user_model().objects.create_user("s", password=None, is_staff=True))
    assert client.get("/admin/liaison_ops/health/").status_code == 403
    assert 'data-health="ok"' not in client.get("/admin/").content.decode()


def test_staff_sees_every_outbound_service_with_a_closed_breaker(fake, staff_client):
    response = staff_client.get("/admin/liaison_ops/health/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("stripe", "sendgrid", "google", "github", "oidc", "acme"):
        assert f'data-service="{name}" data-breaker-state="closed"' in html
    assert 'data-health="ok"' in html
    assert "<svg" in html
    assert "chart-line deliveries" in html


@pytest.mark.parametrize("staff", [False, None])
def test_non_staff_and_anonymous_are_sent_to_the_admin_login(fake, client, staff):
    if staff is False:
        client.force_login(get_user_model().objects.create_user("user", password=None))
    response = client.get("/admin/liaison_ops/health/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_failing_service_shows_an_open_breaker_and_an_alert(fake, staff_client):
    _fail_acme(2)
    html = staff_client.get("/admin/liaison_ops/health/").content.decode()
    assert 'data-service="acme" data-breaker-state="open"' in html
    assert 'class="breaker breaker-open" data-breaker-state="open">open</span>' in html
    assert "retries after" in html
    assert 'data-alert="breaker_open" data-alert-subject="acme"' in html
    # The outbound error shows in the current hour of the chart.
    assert "Outbound errors (2)" in html


def test_admin_index_links_the_dashboard_and_lists_active_alerts(fake, staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert 'href="/admin/liaison_ops/health/"' in html
    assert 'data-health="ok"' in html
    _fail_acme(2)
    html = staff_client.get("/admin/").content.decode()
    assert 'data-alert="breaker_open" data-alert-subject="acme"' in html


def test_reading_the_dashboard_or_index_never_raises_or_sends_an_alert(
    fake, staff_client, mailoutbox, settings
):
    from integrations.ops.alerts import alert_raised, alerts_recorded
    from integrations.ops.services import health_check

    settings.ALERT_EMAIL_ADMINS = True
    settings.ADMINS = [("Ops", "ops@example.com")]
    raised = []

    def receiver(sender, alert, **kwargs):
        raised.append(alert.key)

    alert_raised.connect(receiver)
    try:
        _fail_acme(2)
        for url in ("/admin/liaison_ops/health/", "/admin/"):
            html = staff_client.get(url).content.decode()
            # Shown, as the report says so...
            assert 'data-alert="breaker_open" data-alert-subject="acme"' in html
        # ...but neither recorded nor sent by a GET.
        assert raised == []
        assert mailoutbox == []
        assert alerts_recorded() == []
        # The periodic check (beat) and the command record and send.
        health_check(sync=True)
        assert raised == ["breaker_open:acme"]
        assert alerts_recorded() == ["breaker_open"]
    finally:
        alert_raised.disconnect(receiver)
