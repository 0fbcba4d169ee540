"""With the shared cache unreachable the observability pages degrade instead of failing."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from integrations.ops import alerts, cache_guard, history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _warn_again():
    cache_guard._warned = False
    yield
    cache_guard._warned = False


def broken_cache():
    broken = mock.MagicMock()
    for name in ("get", "set", "add", "delete", "delete_many"):
        getattr(broken, name).side_effect = RedisConnectionError("connection refused")
    return broken


def test_history_and_alert_state_are_skipped_and_logged_once(caplog):
    alert = alerts.Alert("breaker_open", "acme", "breaker of acme is open", 1, 0)
    with (
        mock.patch.object(history, "cache", broken_cache()),
        mock.patch.object(alerts, "cache", broken_cache()),
        caplog.at_level(logging.WARNING, logger="integrations.ops.cache_guard"),
    ):
        assert history.outbound_history_update(["stripe"]) is False
        assert history.outbound_errors_by_hour(["stripe"], hours=3) == [0, 0, 0]
        assert alerts.alerts_sync([alert]) == ([], [])
        assert alerts.alert_since(alert) is None

    warnings = [r for r in caplog.records if "cache_unavailable" in r.getMessage()]
    assert len(warnings) == 1
