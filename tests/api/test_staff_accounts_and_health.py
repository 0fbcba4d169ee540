"""Staff API: connected accounts (never a token), the health snapshot, no secret anywhere."""

from __future__ import annotations

import pytest
import responses
from django.urls import reverse

from integrations.core.exceptions import IntegrationError
from integrations.outbound.http import ServiceClient
from oauth_accounts.models import ConnectedAccount
from tests.oauth_accounts.factories import make_account, make_user
from tests.webhooks.factories import fake_secret, make_endpoint, make_event
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

ACCOUNTS = reverse("liaison_api:staff-accounts")
HEALTH = reverse("liaison_api:staff-health")


def test_accounts_list_every_users_accounts_with_token_presence_only(staff_client):
    alice, bob = make_user("alice"), make_user("bob")
    active = make_account(user=alice, provider="github", display_name="alice-gh")
    broken = make_account(
        user=bob,
        provider="google",
        status=ConnectedAccount.Status.NEEDS_RECONNECT,
        refresh_token=None,
        last_error="invalid_grant, HTTP 400",
    )

    response = staff_client.get(ACCOUNTS)

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert rows[active.pk]["user"] == "alice"
    assert rows[active.pk]["has_access_token"] is True
    assert rows[active.pk]["has_refresh_token"] is True
    assert rows[active.pk]["token_status"] == "active"
    assert rows[broken.pk]["status"] == "needs_reconnect"
    assert rows[broken.pk]["has_refresh_token"] is False
    assert rows[broken.pk]["last_error"] == "invalid_grant, HTTP 400"
    body = response.content.decode()
    for token in (active.access_token, active.refresh_token, broken.access_token):
        assert token
        assert token not in body
    assert not {"access_token", "refresh_token"} & set(rows[active.pk])


def test_accounts_filters(staff_client):
    make_account(user=make_user("alice"), provider="github")
    make_account(
        user=make_user("bob"), provider="google", status=ConnectedAccount.Status.NEEDS_RECONNECT
    )

    def users(params):
        response = staff_client.get(ACCOUNTS, params)
        assert response.status_code == 200, response.content
        return {row["user"] for row in response.json()["results"]}

    assert users({}) == {"alice", "bob"}
    assert users({"provider": "github"}) == {"alice"}
    assert users({"status": "needs_reconnect"}) == {"bob"}
    assert users({"user": "bob"}) == {"bob"}
    assert staff_client.get(ACCOUNTS, {"provider": "myspace"}).status_code == 400


def test_health_snapshot_has_outbound_services_webhook_counts_and_accounts(staff_client, settings):
    settings.INTEGRATIONS_SERVICES = {
        "api-test-down": {
            "base_url": "https://down.example.test",
            "retries": 0,
            "breaker_fail_max": 1,
            "breaker_min_calls": 1,
        }
    }
    with responses.RequestsMock() as mocked:
        mocked.get("https://down.example.test/ping", status=503)
        with pytest.raises(IntegrationError):
            ServiceClient("api-test-down").get("/ping")
    endpoint = make_endpoint(slug="counted")
    make_event(endpoint=endpoint, status=WebhookEvent.Status.DEAD)
    make_event(endpoint=endpoint, status=WebhookEvent.Status.DEAD)
    make_event(endpoint=endpoint, status=WebhookEvent.Status.PROCESSED)
    make_account(provider="github", status=ConnectedAccount.Status.NEEDS_RECONNECT)

    response = staff_client.get(HEALTH)

    assert response.status_code == 200
    data = response.json()
    down = data["outbound"]["api-test-down"]
    assert down["breaker"]["state"] == "open"
    assert down["attempts"] == 1
    assert down["error_rate"] == 1.0
    assert {"stripe", "sendgrid"} <= set(data["outbound"])
    assert data["webhook_events"]["counted"]["dead"] == 2
    assert data["webhook_events"]["counted"]["processed"] == 1
    assert data["webhook_events"]["counted"]["pending"] == 0
    assert data["connected_accounts"]["github"]["needs_reconnect"] == 1
    assert data["generated_at"]
    # The dashboard's report, with the open breaker as an active alert.
    assert data["healthy"] is False
    alerts = {(a["code"], a["subject"]) for a in data["dashboard"]["alerts"]}
    assert ("breaker_open", "api-test-down") in alerts
    assert ("webhook_dead_events", "counted") in alerts
    rows = {row["name"]: row for row in data["dashboard"]["services"]}
    assert rows["api-test-down"]["breaker_state"] == "open"


def test_no_secret_or_token_appears_in_any_staff_response(staff_client):
    secret = fake_secret()
    endpoint = make_endpoint(slug="secretive", secret=secret)
    event = make_event(endpoint=endpoint)
    account = make_account(provider="oidc")
    known = [secret, account.access_token, account.refresh_token]

    urls = [
        reverse("liaison_api:staff-webhook-events"),
        reverse("liaison_api:staff-webhook-event", args=[event.pk]),
        reverse("liaison_api:staff-webhook-endpoints"),
        ACCOUNTS,
        HEALTH,
        reverse("api:schema"),
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for value in known:
            assert value not in body, url


def test_health_snapshot_includes_the_outbox_section_and_its_dead_alert(staff_client):
    from integrations.outbox.models import OutboxItem

    OutboxItem.objects.create(
        purpose_key="api:dead", action="test.mail", status=OutboxItem.Status.DEAD, attempts=10
    )
    OutboxItem.objects.create(
        purpose_key="api:pending", action="test.mail", status=OutboxItem.Status.PENDING
    )
    OutboxItem.objects.create(
        purpose_key="api:done", action="test.mail", status=OutboxItem.Status.DONE
    )

    data = staff_client.get(HEALTH).json()

    outbox = data["dashboard"]["outbox"]
    assert (outbox["pending"], outbox["sending"], outbox["dead"]) == (1, 0, 1)
    assert outbox["by_action"] == {"test.mail": {"pending": 1, "sending": 0, "dead": 1}}
    assert {"oldest_due_at", "lag_seconds"} <= set(outbox)
    alerts = {(a["code"], a["subject"]) for a in data["dashboard"]["alerts"]}
    assert ("outbox_dead_items", "test.mail") in alerts
    assert data["healthy"] is False


def test_health_snapshot_dashboard_keeps_its_json_shape(staff_client):
    """The typed report is written out field by field to the shape the API always returned."""
    make_endpoint(slug="shaped")
    dashboard = staff_client.get(HEALTH).json()["dashboard"]
    assert set(dashboard) == {
        "generated_at",
        "window_seconds",
        "services",
        "endpoints",
        "oauth",
        "outbox",
        "series",
        "alerts",
        "healthy",
    }
    stripe = next(row for row in dashboard["services"] if row["name"] == "stripe")
    assert {"calls", "attempts", "success_rate", "errors", "breaker_state"} <= set(stripe)
    assert isinstance(stripe["errors"], dict)
    endpoint = next(row for row in dashboard["endpoints"] if row["slug"] == "shaped")
    assert {"deliveries_24h", "pending", "failed", "dead", "lag_seconds"} <= set(endpoint)
    assert set(dashboard["oauth"]) == {"needs_reconnect", "needs_reconnect_total", "providers"}
    assert len(dashboard["series"]["hours"]) == len(dashboard["series"]["outbound_errors"]) == 24
    assert dashboard["healthy"] is True
    assert dashboard["alerts"] == []
