"""Management commands: endpoints, listing, replay, test deliveries, pruning, re-dispatch."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from tests.webhooks.factories import fake_secret, make_endpoint, make_event
from webhooks.models import WebhookEndpoint, WebhookEvent, WebhookSecret
from webhooks.selectors import webhook_endpoint_secrets

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_stripe_endpoint_with_its_secret_prints_the_url_not_the_secret():
    secret = fake_secret()

    out = run(
        "webhook_endpoint", "create", "--provider", "stripe", "--slug", "pay", "--secret", secret
    )

    assert "URL: http://127.0.0.1:8000/webhooks/pay/" in out
    assert secret not in out
    endpoint = WebhookEndpoint.objects.get(slug="pay")
    assert webhook_endpoint_secrets(endpoint=endpoint).secrets == (secret,)


def test_create_without_secret_for_a_provider_issued_secret_says_how_to_add_it():
    out = run("webhook_endpoint", "create", "--provider", "stripe", "--slug", "later")

    assert "rotate-secret later" in out
    assert not WebhookSecret.objects.exists()


def test_create_generates_and_prints_a_secret_once_where_we_choose_it(monkeypatch):
    from webhooks.providers import get_provider

    # Any provider whose scheme lets us choose the secret (GitHub, Standard Webhooks, hmac).
    monkeypatch.setattr(type(get_provider("stripe")), "secret_kind", "shared_secret")

    out = run("webhook_endpoint", "create", "--provider", "stripe", "--slug", "gen")

    stored = webhook_endpoint_secrets(endpoint=WebhookEndpoint.objects.get(slug="gen")).secrets
    assert len(stored) == 1
    assert f"Secret (shown once, store it in the provider): {stored[0]}" in out


def test_create_rejects_a_duplicate_slug():
    make_endpoint(slug="taken")

    with pytest.raises(CommandError):
        run("webhook_endpoint", "create", "--provider", "stripe", "--slug", "taken")


def test_list_shows_url_and_secret_state_never_the_value():
    secret = fake_secret()
    make_endpoint(slug="listed", secret=secret)

    out = run("webhook_endpoint", "list")

    assert "listed\tstripe\tsecrets: set (1 active)\thttp://127.0.0.1:8000/webhooks/listed/" in out
    assert secret not in out


def test_rotate_secret_keeps_the_old_one_active_unless_retired():
    old, new, newer = fake_secret(), fake_secret(), fake_secret()
    endpoint = make_endpoint(slug="rot", secret=old)

    run("webhook_endpoint", "rotate-secret", "rot", "--secret", new)
    assert set(webhook_endpoint_secrets(endpoint=endpoint).secrets) == {old, new}

    out = run("webhook_endpoint", "rotate-secret", "rot", "--secret", newer, "--retire-old")
    assert "retired 2" in out
    assert webhook_endpoint_secrets(endpoint=endpoint).secrets == (newer,)


def test_rotate_secret_needs_a_value_for_provider_issued_secrets():
    make_endpoint(slug="needs")

    with pytest.raises(CommandError, match="issues the secret"):
        run("webhook_endpoint", "rotate-secret", "needs")


def test_webhook_events_filters_and_prints_json():
    endpoint = make_endpoint(slug="evs")
    make_event(endpoint=endpoint, event_id="evt_a", status=Status.FAILED, event_type="a.b")
    make_event(endpoint=endpoint, event_id="evt_b", status=Status.PROCESSED, event_type="a.b")

    out = run("webhook_events", "--slug", "evs", "--status", "failed", "--type", "a.b", "--json")

    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["event_id"] for row in rows] == ["evt_a"]
    assert rows[0]["endpoint"] == "evs"
    assert "evt_b" in run("webhook_events")


def test_replay_webhooks_replays_failed_and_dead_by_default(django_capture_on_commit_callbacks):
    endpoint = make_endpoint(slug="rep")
    failed = make_event(endpoint=endpoint, status=Status.FAILED, attempts=3)
    dead = make_event(endpoint=endpoint, status=Status.DEAD, attempts=9)
    done = make_event(endpoint=endpoint, status=Status.PROCESSED, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        out = run("replay_webhooks", "--slug", "rep")

    assert "2 event(s) queued" in out
    # Eager processing with no handler for the type: ignored, attempts counted from zero.
    for event in (failed, dead):
        event.refresh_from_db()
        assert (event.status, event.attempts) == (Status.IGNORED, 1)
    assert WebhookEvent.objects.get(pk=done.pk).status == Status.PROCESSED


def test_replay_webhooks_by_status_since_and_id():
    endpoint = make_endpoint(slug="rep2")
    old_dead = make_event(
        endpoint=endpoint, status=Status.DEAD, received_at=timezone.now() - timedelta(days=5)
    )
    make_event(endpoint=endpoint, status=Status.DEAD)
    make_event(endpoint=endpoint, status=Status.FAILED)
    processed = make_event(endpoint=endpoint, status=Status.PROCESSED, event_id="evt_again")

    assert "1 event(s) would" in run(
        "replay_webhooks", "--status", "dead", "--since", "2d", "--dry-run"
    )
    assert "1 event(s) would" in run("replay_webhooks", "--status", "failed", "--dry-run")
    assert "1 event(s) would" in run("replay_webhooks", "--id", "evt_again", "--dry-run")
    assert "1 event(s) would" in run("replay_webhooks", "--id", f"#{old_dead.pk}", "--dry-run")
    run("replay_webhooks", "--id", "evt_again")
    assert WebhookEvent.objects.get(pk=processed.pk).status == Status.PENDING
    with pytest.raises(CommandError):
        run("replay_webhooks", "--since", "yesterday-ish")


def test_prune_webhook_events_command():
    endpoint = make_endpoint()
    old = timezone.now() - timedelta(days=10)
    make_event(endpoint=endpoint, status=Status.PROCESSED, received_at=old)
    make_event(endpoint=endpoint, status=Status.DEAD, received_at=old)

    assert "Deleted 1 event(s)" in run("prune_webhook_events", "--older-than", "7")
    assert "Deleted 1 event(s)" in run(
        "prune_webhook_events", "--older-than", "7", "--include-failed"
    )


def test_webhook_dispatch_due_command_reports_counts(django_capture_on_commit_callbacks):
    endpoint = make_endpoint()
    make_event(
        endpoint=endpoint,
        status=Status.FAILED,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        out = run("webhook_dispatch_due")

    assert "due failed: 1" in out
    assert WebhookEvent.objects.get().status == Status.IGNORED


def forward_to_django(client: Client):
    """A `responses` callback that hands the request to the Django test client."""

    def callback(request):
        headers = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length")
        }
        response = client.post(
            request.path_url,
            data=request.body,
            content_type=request.headers["Content-Type"],
            **headers,
        )
        return response.status_code, {}, response.content

    return callback


@responses.activate
def test_send_test_webhook_posts_a_signed_sample_that_is_stored(
    client, django_capture_on_commit_callbacks
):
    make_endpoint(slug="try", secret=fake_secret())
    responses.add_callback(
        responses.POST, "http://127.0.0.1:8000/webhooks/try/", callback=forward_to_django(client)
    )

    with django_capture_on_commit_callbacks(execute=True):
        out = run("send_test_webhook", "try", "payment_intent.succeeded")

    assert "status: 200" in out
    event = WebhookEvent.objects.get()
    assert event.event_type == "payment_intent.succeeded"
    assert event.event_id in out
    assert event.status in (Status.PROCESSED, Status.IGNORED)


@responses.activate
def test_send_test_webhook_uses_the_base_url_and_fails_loudly_on_non_2xx():
    make_endpoint(slug="bad", secret=fake_secret())
    responses.add(
        responses.POST,
        "http://example.test:9/webhooks/bad/",
        status=400,
        json={"error": "signature_invalid"},
    )

    with pytest.raises(CommandError, match="answered 400"):
        run("send_test_webhook", "bad", "--url", "http://example.test:9")


def test_send_test_webhook_unknown_slug():
    with pytest.raises(CommandError, match="No endpoint"):
        run("send_test_webhook", "nope")


@responses.activate
def test_send_test_webhook_reports_an_unreachable_server_naming_the_url():
    """`requests`' errors are translated once, in the service: the command (and the admin
    action) only know `TestDeliveryUnreachable`."""
    import requests

    from webhooks.exceptions import TestDeliveryUnreachable, WebhookError
    from webhooks.services.endpoints import webhook_endpoint_send_test

    endpoint = make_endpoint(slug="down", secret=fake_secret())
    responses.add(
        responses.POST,
        "http://127.0.0.1:9/webhooks/down/",
        body=requests.ConnectionError("refused"),
    )

    with pytest.raises(CommandError, match=r"Could not reach the server: .*127\.0\.0\.1:9"):
        run("send_test_webhook", "down", "--url", "http://127.0.0.1:9")
    with pytest.raises(TestDeliveryUnreachable) as raised:
        webhook_endpoint_send_test(endpoint=endpoint, base_url="http://127.0.0.1:9")
    assert isinstance(raised.value, WebhookError)
    assert isinstance(raised.value.__cause__, requests.ConnectionError)
