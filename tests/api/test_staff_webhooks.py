"""Staff API of the webhook event log: access, filters, detail, replay, endpoint secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import csrf_post
from tests.webhooks.factories import fake_secret, make_endpoint, make_event
from webhooks import handlers
from webhooks.models import WebhookEvent, WebhookSecret

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status

EVENTS = reverse("liaison_api:staff-webhook-events")
ENDPOINTS = reverse("liaison_api:staff-webhook-endpoints")


def _event_url(pk: int) -> str:
    return reverse("liaison_api:staff-webhook-event", args=[pk])


def _replay_url(pk: int) -> str:
    return reverse("liaison_api:staff-webhook-event-replay", args=[pk])


@pytest.mark.parametrize(
    "url",
    [
        EVENTS,
        ENDPOINTS,
        reverse("liaison_api:staff-accounts"),
        reverse("liaison_api:staff-health"),
        reverse("api:schema"),
        reverse("api:docs"),
    ],
)
def test_anonymous_and_non_staff_users_are_refused(url, user_client):
    anonymous = APIClient().get(url)
    assert anonymous.status_code in (401, 403)
    assert user_client.get(url).status_code == 403


def test_replay_is_refused_to_non_staff_and_leaves_the_event_alone(user_client):
    event = make_event(endpoint=make_endpoint(), status=Status.DEAD, attempts=9)

    assert csrf_post(APIClient(), _replay_url(event.pk)).status_code in (401, 403)
    assert csrf_post(user_client, _replay_url(event.pk)).status_code == 403

    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.DEAD, 9)


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["event_id"] for row in response.json()["results"]}


def test_event_list_filters_like_the_admin(staff_client):
    now = timezone.now()
    stripe_ep = make_endpoint(provider="stripe", slug="payments")
    github_ep = make_endpoint(provider="github", slug="repos")
    make_event(endpoint=stripe_ep, event_id="old", received_at=now - timedelta(days=3))
    make_event(
        endpoint=stripe_ep,
        event_id="failed-charge",
        event_type="charge.failed",
        status=Status.FAILED,
        received_at=now - timedelta(hours=1),
    )
    make_event(endpoint=github_ep, event_id="push", event_type="push", received_at=now)

    assert _ids(staff_client.get(EVENTS)) == {"old", "failed-charge", "push"}
    assert _ids(staff_client.get(EVENTS, {"endpoint": "payments"})) == {"old", "failed-charge"}
    assert _ids(staff_client.get(EVENTS, {"provider": "github"})) == {"push"}
    assert _ids(staff_client.get(EVENTS, {"event_type": "charge.failed"})) == {"failed-charge"}
    assert _ids(staff_client.get(EVENTS, {"status": "failed"})) == {"failed-charge"}
    since = (now - timedelta(days=1)).isoformat()
    until = (now - timedelta(minutes=30)).isoformat()
    assert _ids(staff_client.get(EVENTS, {"received_since": since})) == {"failed-charge", "push"}
    assert _ids(staff_client.get(EVENTS, {"received_until": until})) == {"old", "failed-charge"}
    assert _ids(staff_client.get(EVENTS, {"received_since": since, "received_until": until})) == {
        "failed-charge"
    }
    # Newest first, as in the admin.
    rows = staff_client.get(EVENTS).json()["results"]
    assert [row["event_id"] for row in rows] == ["push", "failed-charge", "old"]
    assert (rows[0]["endpoint"], rows[0]["provider"]) == ("repos", "github")


@pytest.mark.parametrize(
    "params",
    [
        {"status": "exploded"},
        {"provider": "no-such-provider"},
        {"received_since": "yesterday"},
        {"received_since": "2026-01-02T00:00:00Z", "received_until": "2026-01-01T00:00:00Z"},
    ],
)
def test_invalid_filters_answer_400(staff_client, params):
    response = staff_client.get(EVENTS, params)
    assert response.status_code == 400
    assert set(response.json()) & set(params)


def test_event_list_is_paginated(staff_client):
    endpoint = make_endpoint()
    for _ in range(3):
        make_event(endpoint=endpoint)

    page = staff_client.get(EVENTS, {"page_size": 2}).json()

    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]


def test_event_detail_has_headers_and_the_pretty_payload(staff_client):
    body = {"id": "evt_detail", "type": "invoice.paid", "data": {"amount": 4200, "b": [1, 2]}}
    event = make_event(
        endpoint=make_endpoint(),
        event_id="evt_detail",
        event_type="invoice.paid",
        body=json.dumps(body, separators=(",", ":")).encode(),
        headers={"content-type": "application/json", "stripe-request-id": "req_1"},
    )

    data = staff_client.get(_event_url(event.pk)).json()

    assert data["event_id"] == "evt_detail"
    assert data["payload"] == body
    assert data["pretty_payload"] == json.dumps(body, indent=2, sort_keys=True)
    assert "\n" in data["pretty_payload"]
    assert data["headers"]["stripe-request-id"] == "req_1"
    assert staff_client.get(_event_url(event.pk + 1000)).status_code == 404


def test_form_encoded_payload_is_shown_as_fields(staff_client):
    event = make_event(
        endpoint=make_endpoint(provider="twilio"),
        body=b"MessageSid=SM1&Body=hello+there",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    data = staff_client.get(_event_url(event.pk)).json()

    assert data["payload"] == {"MessageSid": "SM1", "Body": "hello there"}


@pytest.fixture
def recorded_handler() -> Iterator[list[str]]:
    """A handler for ("stripe", "liaison.test.api_replay") that records the event ids."""
    seen: list[str] = []

    def handler(event: WebhookEvent) -> None:
        seen.append(event.event_id)

    handlers.register("stripe", "liaison.test.api_replay")(handler)
    yield seen
    handlers._HANDLERS[("stripe", "liaison.test.api_replay")].remove(handler)


def test_replay_puts_a_failed_event_back_to_pending_and_queues_it(staff_client):
    event = make_event(
        endpoint=make_endpoint(),
        status=Status.DEAD,
        attempts=9,
        last_error="RuntimeError: boom",
    )

    # Not executing on-commit callbacks: the state right after the replay, before processing.
    response = csrf_post(staff_client, _replay_url(event.pk))

    assert response.status_code == 200, response.content
    assert response.json()["replayed"] == 1
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (Status.PENDING, 0, "")
    assert response.json()["event"]["status"] == "pending"


@pytest.mark.django_db(transaction=True)
def test_replay_processes_the_event_again_with_eager_tasks(staff_client, recorded_handler):
    # A real commit (transactional test): the replay's on-commit enqueue runs the task eagerly
    # before the view reads the event back, as it does in production without a broker.
    event = make_event(
        endpoint=make_endpoint(provider="stripe"),
        event_type="liaison.test.api_replay",
        status=Status.FAILED,
        attempts=2,
        last_error="RuntimeError: boom",
    )

    response = csrf_post(staff_client, _replay_url(event.pk))

    assert response.status_code == 200, response.content
    assert recorded_handler == [event.event_id]
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert event.attempts == 1
    assert response.json()["event"]["status"] == "processed"


def test_replay_needs_the_csrf_token_of_the_session(staff_client):
    event = make_event(endpoint=make_endpoint(), status=Status.DEAD)

    response = staff_client.post(_replay_url(event.pk))

    assert response.status_code == 403
    event.refresh_from_db()
    assert event.status == Status.DEAD


def test_replay_of_an_event_being_processed_is_refused(staff_client):
    event = make_event(
        endpoint=make_endpoint(),
        status=Status.PROCESSING,
        locked_until=timezone.now() + timedelta(minutes=5),
    )

    response = csrf_post(staff_client, _replay_url(event.pk))

    assert response.status_code == 409
    assert response.json()["replayed"] == 0
    event.refresh_from_db()
    assert event.status == Status.PROCESSING
    assert csrf_post(staff_client, _replay_url(event.pk + 1000)).status_code == 404


def test_endpoints_say_whether_a_secret_is_set_and_never_show_it(staff_client):
    secret, retired = fake_secret(), fake_secret()
    with_secret = make_endpoint(slug="with-secret", secret=secret)
    WebhookSecret.objects.create(endpoint=with_secret, value=retired, active=False)
    without = make_endpoint(slug="no-secret")
    without.secrets.all().delete()

    response = staff_client.get(ENDPOINTS)

    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()["results"]}
    assert rows["with-secret"]["secret_set"] is True
    assert rows["with-secret"]["active_secrets"] == 1
    assert rows["with-secret"]["url"] == "http://testserver/webhooks/with-secret/"
    assert rows["no-secret"]["secret_set"] is False
    assert rows["no-secret"]["active_secrets"] == 0
    assert secret not in response.content.decode()
    assert retired not in response.content.decode()
