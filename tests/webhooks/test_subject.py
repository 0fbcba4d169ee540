"""The subject of an event (the object it is about): extracted at ingest, searchable."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.webhooks.factories import make_endpoint, make_event
from tests.webhooks.subject_support import fixture, post_sendgrid, post_stripe
from webhooks.admin import WebhookEventAdmin
from webhooks.counters import arrivals_fold
from webhooks.models import WebhookEvent, WebhookEventArrival, WebhookEventType
from webhooks.providers import get_provider
from webhooks.providers.base import ParsedEvent

CHANGELIST = reverse("admin:liaison_webhooks_webhookevent_changelist")


def _parsed(payload):
    return ParsedEvent(event_id="evt_x", event_type="t", body=b"{}", payload=payload)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("payment_intent.succeeded.json", "pi_"),
        ("customer.created.json", "cus_"),
        ("customer.subscription.created.json", "sub_"),
        ("invoice.paid.json", "in_"),
    ],
)
def test_stripe_subject_is_the_object_of_the_event(name, prefix):
    payload = fixture("stripe", name)
    subject = get_provider("stripe").event_subject(_parsed(payload))
    assert subject == payload["data"]["object"]["id"]
    assert subject.startswith(prefix)


def test_sendgrid_subject_is_the_message_id_without_filter_suffix_else_our_own_id():
    delivered, processed = fixture("sendgrid", "delivered.json")
    provider = get_provider("sendgrid")
    assert provider.event_subject(_parsed(delivered)) == "14c5d75ce93"
    assert provider.event_subject(_parsed(processed)) == "42"


def test_github_subject_is_the_repository():
    payload = fixture("github", "push.json")
    subject = get_provider("github").event_subject(_parsed(payload))
    assert subject == payload["repository"]["full_name"] == "Codertocat/Hello-World"


def test_providers_without_a_subject_say_nothing():
    assert get_provider("twilio").event_subject(_parsed({"MessageSid": "SM1"})) == ""


@pytest.mark.django_db
def test_admin_finds_stripe_events_by_object_and_by_event_id(client, admin_client):
    payload = post_stripe(client)
    post_stripe(client, "customer.created.json")
    stored = WebhookEvent.objects.get(event_id=payload["id"])
    assert stored.subject == payload["data"]["object"]["id"]

    by_subject = admin_client.get(CHANGELIST, {"q": stored.subject}).content.decode()
    by_id = admin_client.get(CHANGELIST, {"q": payload["id"]}).content.decode()
    other = fixture("stripe", "customer.created.json")
    assert payload["id"] in by_subject
    assert other["id"] not in by_subject
    assert payload["id"] in by_id
    assert other["id"] not in by_id


@pytest.mark.django_db
def test_admin_finds_sendgrid_events_by_message_id(client, admin_client):
    delivered, processed = post_sendgrid(client)
    page = admin_client.get(CHANGELIST, {"q": "14c5d75ce93"}).content.decode()
    assert delivered["sg_event_id"] in page
    assert processed["sg_event_id"] not in page
    page = admin_client.get(CHANGELIST, {"q": "42"}).content.decode()
    assert processed["sg_event_id"] in page


@pytest.mark.django_db
def test_ingest_records_event_types_seen_for_the_filter(client, admin_client):
    payload = post_stripe(client)
    # Offered at once (on PostgreSQL from the arrival journal, before any fold) ...
    page = admin_client.get(CHANGELIST).content.decode()
    assert f"event_type={payload['type']}" in page
    # ... and kept in the types table once the counters have taken it in.
    arrivals_fold()
    assert WebhookEventType.objects.filter(event_type=payload["type"]).count() == 1
    assert not WebhookEventArrival.objects.exists()
    page = admin_client.get(CHANGELIST).content.decode()
    assert f"event_type={payload['type']}" in page


@pytest.mark.django_db
def test_changelist_never_counts_or_scans_the_whole_log(admin_client, monkeypatch):
    # Two per page: three events are "more than a page", as millions would be.
    monkeypatch.setattr(WebhookEventAdmin, "list_per_page", 2)
    endpoint = make_endpoint(slug="big")
    for n in range(3):
        make_event(endpoint=endpoint, event_id=f"evt_{n}", status="processed")
    table = WebhookEvent._meta.db_table
    for params in ({}, {"status__exact": "processed"}, {"received_within": "24h"}):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(CHANGELIST, params)
        assert response.status_code == 200
        on_log = [q["sql"] for q in queries.captured_queries if f'"{table}"' in q["sql"]]
        assert not [sql for sql in on_log if "COUNT(" in sql.upper() and "LIMIT" not in sql]
        assert not [sql for sql in on_log if "DISTINCT" in sql.upper()]
        # Every read of the log is bounded (LIMIT) or in the counters' table.
        assert all("LIMIT" in sql.upper() for sql in on_log), on_log
