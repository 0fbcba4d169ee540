"""Batch processing: one claim for the batch, ignored events marked together, each handled
event in its own transaction."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_process

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def test_a_batch_of_unhandled_events_costs_three_statements():
    endpoint = make_endpoint()
    events = [make_event(endpoint=endpoint) for _ in range(20)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = webhook_events_process(event_pks=[e.pk for e in events])
    assert [o.status for o in outcomes] == [Status.IGNORED] * 20
    # Claim (UPDATE), load (SELECT), mark ignored (UPDATE): not per event. On PostgreSQL one
    # more folds the counters' arrival journal (webhooks.counters), once per batch too.
    statements = [q["sql"] for q in queries.captured_queries]
    fold = [sql for sql in statements if sql.startswith("WITH moved AS (DELETE FROM")]
    assert len(fold) == (1 if connection.vendor == "postgresql" else 0)
    assert len(statements) - len(fold) == 3
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {Status.IGNORED}


def test_mixed_batch_runs_handlers_per_event_and_skips_what_is_not_claimable(register_handler):
    endpoint = make_endpoint()
    seen = []
    register_handler(endpoint.provider, "liaison.test.good", lambda event: seen.append(event.pk))

    def broken(event):
        raise RuntimeError("boom")

    register_handler(endpoint.provider, "liaison.test.bad", broken)
    good = make_event(endpoint=endpoint, event_type="liaison.test.good")
    bad = make_event(endpoint=endpoint, event_type="liaison.test.bad")
    unhandled = make_event(endpoint=endpoint)
    done = make_event(endpoint=endpoint, status=Status.PROCESSED)
    outcomes = webhook_events_process(event_pks=[good.pk, bad.pk, unhandled.pk, done.pk])
    assert [o.status for o in outcomes] == [
        Status.PROCESSED,
        Status.FAILED,
        Status.IGNORED,
        "skipped",
    ]
    assert seen == [good.pk]
    bad.refresh_from_db()
    assert bad.attempts == 1
    assert "boom" in bad.last_error
    # Run again: nothing is claimable until the failed one is due.
    again = webhook_events_process(event_pks=[good.pk, bad.pk])
    assert [o.status for o in again] == ["skipped", "skipped"]
