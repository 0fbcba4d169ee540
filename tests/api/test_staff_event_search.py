"""Staff API: events by the object they are about (`?subject=`) and by event id."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.webhooks.subject_support import post_sendgrid, post_stripe

pytestmark = pytest.mark.django_db
EVENTS = reverse("liaison_api:staff-webhook-events")


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["event_id"] for row in response.json()["results"]}


def test_events_by_stripe_object_and_event_id(client, staff_client):
    payment = post_stripe(client)
    customer = post_stripe(client, "customer.created.json")
    subject = payment["data"]["object"]["id"]

    assert _ids(staff_client.get(EVENTS, {"subject": subject})) == {payment["id"]}
    assert _ids(staff_client.get(EVENTS, {"event_id": customer["id"]})) == {customer["id"]}
    rows = staff_client.get(EVENTS, {"subject": subject}).json()["results"]
    assert rows[0]["subject"] == subject


def test_events_by_sendgrid_message_id(client, staff_client):
    delivered, _processed = post_sendgrid(client)
    assert _ids(staff_client.get(EVENTS, {"subject": "14c5d75ce93"})) == {delivered["sg_event_id"]}
    assert _ids(staff_client.get(EVENTS, {"subject": "nothing-here"})) == set()
