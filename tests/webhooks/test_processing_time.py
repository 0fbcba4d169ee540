"""The health report's processing time runs from the claim, not from receipt (issue 12: a
replay of an event received 867 s earlier reported 867 s of "processing")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.factories import make_endpoint, make_event
from webhooks.health import webhook_endpoint_rows
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_replay

pytestmark = pytest.mark.django_db


def _row(slug: str) -> dict[str, object]:
    return next(row for row in webhook_endpoint_rows(timezone.now()) if row["slug"] == slug)


def test_a_replayed_event_reports_its_handler_time_not_its_age(register_handler):
    endpoint = make_endpoint(slug="replayed")
    register_handler(endpoint.provider, "liaison.test.timed", lambda event: None)
    received = timezone.now() - timedelta(seconds=867)
    event = make_event(
        endpoint=endpoint,
        event_type="liaison.test.timed",
        received_at=received,
        next_attempt_at=received,
    )
    webhook_event_replay(events=WebhookEvent.objects.filter(pk=event.pk))
    assert webhook_event_process(event_pk=event.pk).status == WebhookEvent.Status.PROCESSED

    row = _row("replayed")
    assert row["processed_last_hour"] == 1
    assert isinstance(row["processing_avg_seconds"], float)
    assert row["processing_avg_seconds"] < 60


def test_processing_time_is_processed_at_minus_claimed_at():
    endpoint = make_endpoint(slug="measured")
    now = timezone.now()
    make_event(
        endpoint=endpoint,
        status=WebhookEvent.Status.PROCESSED,
        received_at=now - timedelta(minutes=30),
        claimed_at=now - timedelta(seconds=3),
        processed_at=now - timedelta(seconds=1),
    )
    # Marked ignored by hand: never claimed, so no processing time at all.
    make_event(
        endpoint=endpoint,
        status=WebhookEvent.Status.IGNORED,
        received_at=now - timedelta(minutes=20),
        processed_at=now,
    )

    row = _row("measured")
    assert row["processed_last_hour"] == 1
    assert row["processing_avg_seconds"] == 2.0
