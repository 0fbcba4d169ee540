"""PostgreSQL's arrival journal: stored pending events are counted later, exactly once.

The receive view's INSERT only appends an arrival row (`webhooks.counters`); a fold moves
arrivals into the counters. Readers must be exact before and after the fold, a fold must
never take an arrival twice (concurrent folds) or one its snapshot cannot see (an insert not
committed yet), and a rebuild replaces what the journal holds.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.webhooks.factories import make_endpoint, make_event
from webhooks.counters import (
    arrivals_fold,
    arrivals_fold_all,
    counters_rebuild,
    event_types_seen,
    hourly_totals,
    tally_totals,
)
from webhooks.models import WebhookEvent, WebhookEventArrival, WebhookEventTally, WebhookEventType
from webhooks.queue import webhook_events_dispatch_due

pytestmark = pytest.mark.postgres


def _raw(endpoint_id: int, name: str) -> int:
    rows = WebhookEventTally.objects.filter(endpoint_id=endpoint_id, name=name)
    return sum(rows.values_list("value", flat=True))


def _hourly_received(endpoint_id: int) -> int:
    since = timezone.now() - timedelta(hours=2)
    per_hour = hourly_totals(since=since).get(endpoint_id, {})
    return sum(value for (_, name), value in per_hour.items() if name == "received")


@pytest.mark.django_db
def test_a_pending_insert_only_journals_and_readers_still_count_it():
    endpoint = make_endpoint()
    make_event(endpoint=endpoint, event_type="charge.succeeded")
    make_event(endpoint=endpoint, event_type="charge.refunded")

    assert WebhookEventArrival.objects.filter(endpoint_id=endpoint.pk).count() == 2
    # Nothing upserted by the insert itself ...
    assert _raw(endpoint.pk, "received") == 0
    assert not WebhookEventType.objects.filter(endpoint=endpoint).exists()
    # ... yet every reader is exact.
    assert tally_totals()[endpoint.pk]["received"] == 2
    assert tally_totals()[endpoint.pk]["status:pending"] == 2
    assert _hourly_received(endpoint.pk) == 2
    assert event_types_seen(endpoint_id=endpoint.pk) == ["charge.refunded", "charge.succeeded"]

    assert arrivals_fold() == 2
    assert not WebhookEventArrival.objects.exists()
    assert _raw(endpoint.pk, "received") == 2
    assert _raw(endpoint.pk, "status:pending") == 2
    assert tally_totals()[endpoint.pk]["received"] == 2
    assert _hourly_received(endpoint.pk) == 2
    assert set(WebhookEventType.objects.values_list("event_type", flat=True)) == {
        "charge.succeeded",
        "charge.refunded",
    }
    assert arrivals_fold() == 0


@pytest.mark.django_db
def test_a_claim_before_the_fold_reads_exact_and_the_fold_settles_it():
    endpoint = make_endpoint()
    event = make_event(endpoint=endpoint)
    WebhookEvent.objects.filter(pk=event.pk).update(status="processing")

    # The claim's -1 is in the tally already, the +1 still in the journal.
    assert _raw(endpoint.pk, "status:pending") == -1
    counts = tally_totals()[endpoint.pk]
    assert counts["status:pending"] == 0
    assert counts["status:processing"] == 1

    arrivals_fold()
    assert _raw(endpoint.pk, "status:pending") == 0
    assert tally_totals()[endpoint.pk]["status:processing"] == 1


@pytest.mark.django_db
def test_other_statuses_are_counted_inside_the_insert():
    endpoint = make_endpoint()
    make_event(endpoint=endpoint, status="dead", event_type="invoice.paid")
    assert not WebhookEventArrival.objects.exists()
    assert _raw(endpoint.pk, "status:dead") == 1
    assert _raw(endpoint.pk, "received") == 1
    assert WebhookEventType.objects.filter(endpoint=endpoint, event_type="invoice.paid").exists()


@pytest.mark.django_db
def test_an_arrival_of_a_deleted_endpoint_folds_without_its_type():
    endpoint = make_endpoint()
    make_event(endpoint=endpoint, event_type="gone.type")
    endpoint_id = endpoint.pk
    # Its events pruned, then the endpoint deleted, before any fold: the journal keeps no
    # foreign key, so its arrival is still there.
    WebhookEvent.objects.filter(endpoint_id=endpoint_id).delete()
    endpoint.delete()
    assert WebhookEventArrival.objects.filter(endpoint_id=endpoint_id).count() == 1
    assert arrivals_fold() == 1
    assert not WebhookEventType.objects.filter(event_type="gone.type").exists()
    # Received once and deleted once: nothing is left pending.
    assert _raw(endpoint_id, "status:pending") == 0


@pytest.mark.django_db
def test_rebuild_replaces_the_journal_instead_of_counting_it_twice():
    endpoint = make_endpoint()
    for _ in range(3):
        make_event(endpoint=endpoint, event_type="charge.succeeded")
    counters_rebuild()
    assert not WebhookEventArrival.objects.exists()
    assert tally_totals()[endpoint.pk]["received"] == 3
    assert tally_totals()[endpoint.pk]["status:pending"] == 3
    assert event_types_seen(endpoint_id=endpoint.pk) == ["charge.succeeded"]


@pytest.mark.django_db
def test_the_dispatcher_folds_everything_even_with_no_worker():
    endpoint = make_endpoint()
    for _ in range(7):
        make_event(endpoint=endpoint)
    webhook_events_dispatch_due()
    assert not WebhookEventArrival.objects.exists()
    assert _raw(endpoint.pk, "received") == 7


@pytest.mark.django_db
def test_fold_all_takes_the_journal_in_batches():
    endpoint = make_endpoint()
    for _ in range(5):
        make_event(endpoint=endpoint)
    assert arrivals_fold_all(limit=2) == 5
    assert _raw(endpoint.pk, "received") == 5


def _other_connection_dsn() -> str:
    settings = connection.settings_dict
    return (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"dbname={settings['NAME']} user={settings['USER']}"
    )


@pytest.mark.django_db(transaction=True)
def test_an_insert_not_yet_committed_is_left_for_the_next_fold():
    endpoint = make_endpoint()
    make_event(endpoint=endpoint)
    now = timezone.now()
    with psycopg.connect(_other_connection_dsn()) as other:
        other.execute(
            "INSERT INTO liaison_webhooks_webhookevent (endpoint_id, event_id, event_type, "
            "subject, body, headers, received_at, status, attempts, next_attempt_at, "
            "last_error) VALUES (%s, 'evt_open', 't', '', 'x', '{}', %s, 'pending', 0, %s, '')",
            [endpoint.pk, now, now],
        )
        # Its arrival exists, uncommitted: this fold cannot see it and takes only the first.
        assert arrivals_fold() == 1
        other.commit()
    assert arrivals_fold() == 1
    assert _raw(endpoint.pk, "received") == 2
    assert tally_totals()[endpoint.pk]["status:pending"] == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_folds_count_each_arrival_once():
    endpoint = make_endpoint()
    WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                endpoint=endpoint,
                event_id=f"evt_{n}",
                event_type="t",
                body=b"{}",
                headers={},
                received_at=timezone.now(),
                next_attempt_at=timezone.now(),
            )
            for n in range(400)
        ]
    )
    assert WebhookEventArrival.objects.count() == 400
    moved: list[int] = []
    errors: list[BaseException] = []

    def fold() -> None:
        try:
            while True:
                n = arrivals_fold(limit=25)
                moved.append(n)
                if n == 0:
                    return
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(moved) == 400
    assert _raw(endpoint.pk, "received") == 400
    assert _raw(endpoint.pk, "status:pending") == 400
