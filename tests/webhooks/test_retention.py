"""Retention: per-endpoint days, bounded batches, dry run, counters kept consistent."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.webhooks.factories import make_endpoint, make_event
from webhooks.counters import tally_totals
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_prune_batched

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def _old(endpoint, status, days, **fields):
    moment = timezone.now() - timedelta(days=days)
    return make_event(endpoint=endpoint, status=status, received_at=moment, **fields)


@pytest.fixture
def log(settings):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    default = make_endpoint(slug="default")
    short = make_endpoint(slug="short", retention_days=3)
    forever = make_endpoint(slug="forever", retention_days=0)
    events = {
        "old_processed": _old(default, Status.PROCESSED, 40),
        "old_ignored": _old(default, Status.IGNORED, 40),
        "old_failed": _old(default, Status.FAILED, 40),
        "old_dead": _old(default, Status.DEAD, 40),
        "old_pending": _old(default, Status.PENDING, 40),
        "recent_processed": _old(default, Status.PROCESSED, 10),
        "short_processed": _old(short, Status.PROCESSED, 10),
        "forever_processed": _old(forever, Status.PROCESSED, 400),
    }
    return events


def _left(log):
    kept = set(WebhookEvent.objects.values_list("pk", flat=True))
    return {name for name, event in log.items() if event.pk in kept}


def test_processed_and_ignored_past_retention_go_failed_and_dead_stay(log):
    report = webhook_events_prune_batched()
    assert report.deleted == 3
    assert report.complete
    assert _left(log) == {
        "old_failed",
        "old_dead",
        "old_pending",
        "recent_processed",
        "forever_processed",
    }


def test_include_failed_setting_deletes_failed_and_dead_never_pending(log, settings):
    settings.WEBHOOKS_RETENTION_INCLUDE_FAILED = True
    webhook_events_prune_batched()
    assert _left(log) == {"old_pending", "recent_processed", "forever_processed"}


def test_batches_are_small_and_counters_follow(log):
    endpoint = log["old_processed"].endpoint
    for _ in range(30):
        _old(endpoint, Status.PROCESSED, 50)
    before = tally_totals()[endpoint.pk]
    # A tiny target per batch: the id range shrinks to its minimum and the work still ends.
    report = webhook_events_prune_batched(batch_seconds=0.000001)
    assert report.deleted == 33  # 31 + 1 ignored here, 1 on the 3-day endpoint
    assert report.batches >= 1
    after = tally_totals()[endpoint.pk]
    assert after["status:processed"] == before["status:processed"] - 31
    assert after["status:ignored"] == before["status:ignored"] - 1
    assert after["received"] == before["received"]  # a monotonic total


def test_a_run_stops_at_its_time_budget_and_resumes(log):
    partial = webhook_events_prune_batched(max_seconds=0)
    assert not partial.complete
    assert partial.deleted == 0
    assert webhook_events_prune_batched().deleted == 3


def test_dry_run_lists_per_endpoint_and_status_and_deletes_nothing(log):
    out = StringIO()
    call_command("prune_webhook_events", "--dry-run", stdout=out)
    text = out.getvalue()
    assert f"default processed: 1 (e.g. {log['old_processed'].event_id})" in text
    assert f"short processed: 1 (e.g. {log['short_processed'].event_id})" in text
    assert "default ignored: 1" in text
    assert "Would delete 3 event(s)." in text
    assert len(_left(log)) == len(log)


def test_command_older_than_overrides_every_endpoint(log):
    out = StringIO()
    call_command("prune_webhook_events", "--older-than", "5", stdout=out)
    assert "Deleted 5 event(s)" in out.getvalue()
    assert "forever_processed" not in _left(log)
