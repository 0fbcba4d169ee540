"""The counting triggers: every write to the event log keeps the tallies and rollups exact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from tests.webhooks.factories import make_endpoint, make_event
from webhooks.counters import counters_rebuild, hourly_totals, tally_totals
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _status_counts(endpoint_id):
    totals = tally_totals().get(endpoint_id, {})
    return {
        name.split(":", 1)[1]: value
        for name, value in totals.items()
        if name.startswith("status:") and value
    }


def _actual(endpoint_id):
    return dict(
        WebhookEvent.objects.filter(endpoint_id=endpoint_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )


def test_inserts_updates_and_deletes_keep_status_counts_exact():
    endpoint = make_endpoint()
    events = [make_event(endpoint=endpoint) for _ in range(4)]
    make_event(endpoint=endpoint, status="dead")
    assert _status_counts(endpoint.pk) == {"pending": 4, "dead": 1} == _actual(endpoint.pk)

    WebhookEvent.objects.filter(pk__in=[e.pk for e in events[:3]]).update(status="processing")
    WebhookEvent.objects.filter(pk=events[0].pk).update(status="processed")
    # An update that leaves the status alone changes nothing.
    WebhookEvent.objects.filter(pk=events[1].pk).update(status="processing", attempts=3)
    assert _status_counts(endpoint.pk) == _actual(endpoint.pk)
    assert _status_counts(endpoint.pk) == {"pending": 1, "processing": 2, "processed": 1, "dead": 1}

    WebhookEvent.objects.filter(pk__in=[events[0].pk, events[3].pk]).delete()
    assert _status_counts(endpoint.pk) == {"processing": 2, "dead": 1} == _actual(endpoint.pk)
    totals = tally_totals()[endpoint.pk]
    # Monotonic totals do not go down with deletions.
    assert totals["received"] == 5
    assert totals["outcome:processed"] == 1
    assert totals["outcome:dead"] == 1


def test_outcomes_feed_the_duration_histogram_and_hourly_rollup():
    endpoint = make_endpoint()
    now = timezone.now()
    event = make_event(endpoint=endpoint)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status="processing", claimed_at=now - timedelta(seconds=2)
    )
    WebhookEvent.objects.filter(pk=event.pk).update(status="processed", processed_at=now)
    totals = tally_totals()[endpoint.pk]
    assert totals["duration_count"] == 1
    assert totals["duration_us"] == pytest.approx(2_000_000, abs=5_000)
    assert totals["duration_le:2.5"] == 1
    hour = now.replace(minute=0, second=0, microsecond=0)
    hourly = hourly_totals(since=hour - timedelta(hours=1))[endpoint.pk]
    assert sum(v for (h, name), v in hourly.items() if name == "outcome:processed") == 1
    assert sum(v for (h, name), v in hourly.items() if name == "received") == 1


def test_rebuild_recounts_from_the_log():
    endpoint = make_endpoint()
    make_event(endpoint=endpoint, status="failed")
    make_event(endpoint=endpoint)
    counters_rebuild()
    assert _status_counts(endpoint.pk) == {"failed": 1, "pending": 1}
    assert tally_totals()[endpoint.pk]["received"] == 2


def test_rebuild_command_repairs_drifted_counters():
    from io import StringIO

    from django.core.management import call_command

    from webhooks.models import WebhookEventTally

    endpoint = make_endpoint()
    make_event(endpoint=endpoint, status="dead")
    WebhookEventTally.objects.filter(name="status:dead").update(value=99)
    out = StringIO()
    call_command("webhook_counters_rebuild", stdout=out)
    assert "rebuilt" in out.getvalue()
    assert _status_counts(endpoint.pk) == {"dead": 1}


def test_an_unsupported_database_is_refused_naming_the_setting():
    """Counters are triggers written for PostgreSQL and SQLite; anything else fails loudly at
    migrate time instead of leaving the staff reads silently at zero."""
    from types import SimpleNamespace

    from django.core.exceptions import ImproperlyConfigured

    from webhooks.counters import triggers_install

    mysql = SimpleNamespace(vendor="mysql", alias="default")
    with pytest.raises(ImproperlyConfigured, match=r"PostgreSQL or SQLite.*DATABASES\['default'\]"):
        triggers_install(mysql)  # type: ignore[arg-type]
