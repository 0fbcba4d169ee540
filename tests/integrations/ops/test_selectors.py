"""Webhook endpoint rows, OAuth reconnect list and the 24 h series of the health report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.ops.selectors import health_report
from tests.oauth_accounts.factories import make_account
from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import VerificationFailureCount

pytestmark = pytest.mark.django_db


def _row(report, slug):
    return next(row for row in report.endpoints if row.slug == slug)


def test_endpoint_rows_count_deliveries_failures_lag_and_dead(fake):
    now = timezone.now()
    busy = make_endpoint(slug="busy")
    quiet = make_endpoint(slug="quiet")
    make_event(
        endpoint=busy,
        status="processed",
        received_at=now - timedelta(minutes=6),
        claimed_at=now - timedelta(minutes=5),
        processed_at=now - timedelta(minutes=5) + timedelta(seconds=2),
    )
    make_event(endpoint=busy, status="pending", received_at=now - timedelta(minutes=10))
    make_event(endpoint=busy, status="pending", received_at=now - timedelta(minutes=1))
    make_event(endpoint=busy, status="failed", received_at=now - timedelta(hours=2))
    make_event(endpoint=busy, status="dead", received_at=now - timedelta(hours=3))
    make_event(endpoint=busy, status="dead", received_at=now - timedelta(days=3))
    hour = now.replace(minute=0, second=0, microsecond=0)
    VerificationFailureCount.objects.create(
        endpoint=busy, hour=hour, reason="bad_signature", count=7
    )
    VerificationFailureCount.objects.create(endpoint=busy, hour=hour, reason="stale", count=2)
    VerificationFailureCount.objects.create(
        endpoint=busy, hour=hour - timedelta(hours=1), reason="bad_signature", count=4
    )
    VerificationFailureCount.objects.create(
        endpoint=busy, hour=hour - timedelta(hours=30), reason="bad_signature", count=99
    )

    report = health_report()
    row = _row(report, "busy")
    assert row.deliveries_24h == 5
    assert row.deliveries_total == 6
    assert (row.pending, row.failed, row.dead) == (2, 1, 2)
    assert 595 <= row.lag_seconds <= 660
    assert row.verification_failures_this_hour == 9
    assert row.verification_failures_last_hour == 4
    assert row.verification_failures_24h == 13
    assert row.processed_last_hour == 1
    assert row.processing_avg_seconds == pytest.approx(2.0)
    quiet_row = _row(report, "quiet")
    assert quiet.slug == quiet_row.slug
    assert (quiet_row.deliveries_total, quiet_row.lag_seconds, quiet_row.dead) == (0, 0, 0)
    assert quiet_row.oldest_pending_at is None
    series = report.series
    assert len(series.hours) == len(series.webhook_deliveries) == 24
    # The last bucket is the current clock hour: of the three received in the last 10 minutes,
    # those before the top of the hour fall into the one before.
    recent = [now - timedelta(minutes=m) for m in (1, 6, 10)]  # the received_at values above
    assert series.webhook_deliveries[-1] == sum(t >= hour for t in recent)
    assert series.webhook_deliveries[-2] >= sum(t < hour for t in recent)
    assert sum(series.webhook_deliveries) == 5
    assert series.verification_failures[-1] == 9
    assert series.verification_failures[-2] == 4


def test_accounts_needing_reconnect_are_listed_and_failing_refreshes_counted(fake):
    make_account(provider="github", status="needs_reconnect", display_name="octo", failure_count=5)
    make_account(provider="github", failure_count=2)
    make_account(provider="github")
    oauth = health_report().oauth
    assert oauth.needs_reconnect_total == 1
    assert oauth.needs_reconnect[0].display_name == "octo"
    github = oauth.providers["github"]
    assert github.by_status == {"needs_reconnect": 1, "active": 2}
    assert github.refresh_failing == 1
    assert github.reconnect_recent == 1
    assert github.refreshed_last_hour == 3
