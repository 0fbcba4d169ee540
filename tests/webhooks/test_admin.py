"""Admin: secrets write-only, full URL shown, actions call the services and report counts."""

from __future__ import annotations

import pytest
import responses
from django.urls import reverse

from tests.webhooks.factories import fake_secret, make_endpoint, make_event
from tests.webhooks.test_commands import forward_to_django
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.selectors import webhook_endpoint_secrets

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def test_endpoint_pages_show_the_url_and_secret_state_never_the_secret(admin_client):
    secret = fake_secret()
    endpoint = make_endpoint(slug="shown", secret=secret)

    listing = admin_client.get(reverse("admin:liaison_webhooks_webhookendpoint_changelist"))
    change = admin_client.get(
        reverse("admin:liaison_webhooks_webhookendpoint_change", args=[endpoint.pk])
    )

    for page in (listing, change):
        assert page.status_code == 200
        html = page.content.decode()
        assert "http://testserver/webhooks/shown/" in html
        assert "set (1 active)" in html
        assert secret not in html


def test_new_secret_field_adds_a_secret_and_can_retire_the_old_ones(admin_client):
    old, new = fake_secret(), fake_secret()
    endpoint = make_endpoint(slug="rotate-me", secret=old)
    url = reverse("admin:liaison_webhooks_webhookendpoint_change", args=[endpoint.pk])
    secret_row = endpoint.secrets.get()
    form = {
        "provider": "stripe",
        "slug": "rotate-me",
        "description": "",
        "active": "on",
        "tolerance_seconds": "300",
        "max_body_bytes": "1048576",
        "options": "{}",
        "public_key": "",
        "new_secret": new,
        "retire_old_secrets": "on",
        "secrets-TOTAL_FORMS": "1",
        "secrets-INITIAL_FORMS": "1",
        "secrets-MIN_NUM_FORMS": "0",
        "secrets-MAX_NUM_FORMS": "1000",
        "secrets-0-id": str(secret_row.pk),
        "secrets-0-endpoint": str(endpoint.pk),
        "secrets-0-active": "on",
    }

    response = admin_client.post(url, form, follow=True)

    assert response.status_code == 200
    assert webhook_endpoint_secrets(endpoint=endpoint).secrets == (new,)
    assert new not in response.content.decode()


def test_add_endpoint_with_a_secret(admin_client):
    secret = fake_secret()
    response = admin_client.post(
        reverse("admin:liaison_webhooks_webhookendpoint_add"),
        {
            "provider": "stripe",
            "slug": "added",
            "description": "",
            "active": "on",
            "tolerance_seconds": "300",
            "max_body_bytes": "1048576",
            "options": "{}",
            "public_key": "",
            "new_secret": secret,
            "secrets-TOTAL_FORMS": "0",
            "secrets-INITIAL_FORMS": "0",
            "secrets-MIN_NUM_FORMS": "0",
            "secrets-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(slug="added")
    assert webhook_endpoint_secrets(endpoint=endpoint).secrets == (secret,)


@responses.activate
def test_send_test_delivery_action(admin_client, client, django_capture_on_commit_callbacks):
    endpoint = make_endpoint(slug="act", secret=fake_secret())
    responses.add_callback(
        responses.POST, "http://testserver/webhooks/act/", callback=forward_to_django(client)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:liaison_webhooks_webhookendpoint_changelist"),
            {"action": "send_test_delivery", "_selected_action": [endpoint.pk], "confirmed": "yes"},
            follow=True,
        )

    assert "answered 200" in response.content.decode()
    assert WebhookEvent.objects.filter(endpoint=endpoint).count() == 1


def test_event_pages_filter_search_and_pretty_print(admin_client):
    endpoint = make_endpoint(slug="evadmin")
    event = make_event(endpoint=endpoint, event_id="evt_find_me", status=Status.FAILED)
    make_event(endpoint=endpoint, event_id="evt_other", status=Status.PROCESSED)
    changelist = reverse("admin:liaison_webhooks_webhookevent_changelist")

    found = admin_client.get(changelist, {"q": "evt_find_me"}).content.decode()
    filtered = admin_client.get(
        changelist, {"status__exact": "processed", "provider": "stripe"}
    ).content.decode()
    detail = admin_client.get(
        reverse("admin:liaison_webhooks_webhookevent_change", args=[event.pk])
    )

    assert "evt_find_me" in found
    assert "evt_other" not in found
    assert "evt_other" in filtered
    assert "evt_find_me" not in filtered
    assert detail.status_code == 200
    assert "&quot;id&quot;: &quot;evt_find_me&quot;" in detail.content.decode()


def test_event_actions_replay_and_mark_ignored_report_counts(
    admin_client, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint()
    dead = make_event(endpoint=endpoint, status=Status.DEAD, attempts=9)
    failed = make_event(endpoint=endpoint, status=Status.FAILED, attempts=2)
    changelist = reverse("admin:liaison_webhooks_webhookevent_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        replayed = admin_client.post(
            changelist,
            {"action": "replay", "_selected_action": [dead.pk], "confirmed": "yes"},
            follow=True,
        )
    ignored = admin_client.post(
        changelist,
        {"action": "mark_ignored", "_selected_action": [failed.pk], "confirmed": "yes"},
        follow=True,
    )

    assert "1 event(s) queued for replay" in replayed.content.decode()
    assert "1 event(s) marked ignored" in ignored.content.decode()
    assert WebhookEvent.objects.get(pk=dead.pk).attempts == 1
    assert WebhookEvent.objects.get(pk=failed.pk).status == Status.IGNORED


def test_verification_failures_are_listed_read_only(admin_client, client):
    endpoint = make_endpoint()
    client.post(
        f"/webhooks/{endpoint.slug}/",
        data=b"{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )

    page = admin_client.get(reverse("admin:liaison_webhooks_verificationfailure_changelist"))
    counts = admin_client.get(reverse("admin:liaison_webhooks_verificationfailurecount_changelist"))

    assert page.status_code == counts.status_code == 200
    assert "signature_invalid" in page.content.decode()
    assert (
        admin_client.get(reverse("admin:liaison_webhooks_verificationfailure_add")).status_code
        == 403
    )
