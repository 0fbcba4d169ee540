"""The typed health report (issue 14): sections parsed once from the registry's mappings,
frozen, and written out to the JSON shape the command and the staff API have always had."""

from __future__ import annotations

import dataclasses

import pytest

from integrations.ops.alerts import Alert
from integrations.ops.report import (
    EndpointHealth,
    HealthAlert,
    HealthReport,
    OAuthHealth,
    OutboxHealth,
)


def test_endpoint_rows_take_known_keys_default_missing_ones_and_ignore_the_rest():
    row = EndpointHealth.from_row({"slug": "shop", "dead": 3, "a_future_column": 1})
    assert (row.slug, row.dead, row.pending, row.oldest_pending_at) == ("shop", 3, 0, None)
    assert "a_future_column" not in row.as_dict()
    with pytest.raises(TypeError):
        EndpointHealth.from_row({"dead": 3})  # the slug is the row's identity: required


def test_outbox_summary_is_parsed_per_action_and_written_back_unchanged():
    summary = {
        "pending": 2,
        "sending": 0,
        "dead": 1,
        "oldest_due_at": "2026-01-01T00:00:00+00:00",
        "lag_seconds": 42,
        "by_action": {
            "test.b": {"pending": 0, "sending": 0, "dead": 1},
            "test.a": {"pending": 2, "sending": 0, "dead": 0},
        },
    }
    outbox = OutboxHealth.from_summary(summary)
    assert outbox.by_action["test.a"].pending == 2
    assert list(outbox.by_action) == ["test.a", "test.b"]  # shown in a stable order
    assert outbox.as_dict() == summary


def test_oauth_summary_round_trips():
    summary = {
        "needs_reconnect": [
            {
                "id": 7,
                "provider": "github",
                "display_name": "octo",
                "user_id": 3,
                "failure_count": 2,
                "last_error": "invalid_grant",
                "updated_at": "2026-01-01T00:00:00+00:00",
            }
        ],
        "needs_reconnect_total": 1,
        "providers": {
            "github": {
                "by_status": {"needs_reconnect": 1},
                "refresh_failing": 0,
                "reconnect_recent": 1,
                "refreshed_last_hour": 0,
            }
        },
    }
    oauth = OAuthHealth.from_summary(summary)
    assert oauth.needs_reconnect[0].display_name == "octo"
    assert oauth.as_dict() == summary
    assert OAuthHealth.from_summary({}).as_dict() == {
        "needs_reconnect": [],
        "needs_reconnect_total": 0,
        "providers": {},
    }


def test_report_is_frozen_and_healthy_means_no_alert():
    report = HealthReport(generated_at="t", window_seconds=900)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.window_seconds = 1  # type: ignore[misc]
    assert report.healthy is True
    alert = HealthAlert(Alert("breaker_open", "acme", "open", 1, 0, "critical"), since="s")
    alerted = report.with_alerts((alert,))
    assert report.alerts == ()  # a new report, the old one unchanged
    assert alerted.healthy is False
    assert alerted.as_dict()["alerts"] == [
        {
            "code": "breaker_open",
            "subject": "acme",
            "message": "open",
            "value": 1,
            "threshold": 0,
            "severity": "critical",
            "since": "s",
        }
    ]
