"""Embedded mode (no Redis): breakers are per process, so each transition is journaled in the
database and a process that never called a service reports the journal, not a false "closed"."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import responses

from integrations.core.exceptions import ServerError, ServiceUnavailable
from integrations.outbound.health import snapshot
from integrations.outbound.http import ServiceClient
from integrations.outbound.models import BreakerTransition
from integrations.outbound.resilience import use_runtime
from integrations.outbound.testing import FakeRuntime, isolated_state

BASE = "https://api.acme.test"
pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings) -> Iterator[FakeRuntime]:
    settings.INTEGRATIONS_SERVICES = {
        "acme": {"base_url": BASE, "retries": 0, "breaker_fail_max": 2, "breaker_min_calls": 50}
    }
    runtime = FakeRuntime()
    with isolated_state(redis_url=""), use_runtime(runtime.as_runtime()):
        yield runtime


def trip_acme() -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=503)
        for _ in range(2):
            with pytest.raises(ServerError):
                ServiceClient("acme").get("/x")
        with pytest.raises(ServiceUnavailable):
            ServiceClient("acme").get("/x")


def test_a_transition_is_journaled_with_the_process_that_made_it(fake):
    trip_acme()
    row = BreakerTransition.objects.get(service="acme")
    assert (row.from_state, row.to_state, row.reason, row.trips) == (
        "closed",
        "open",
        "consecutive_failures",
        1,
    )
    assert row.process.endswith(f":{os.getpid()}")
    assert row.opened_at is not None
    own = snapshot(["acme"])["acme"]["breaker"]
    assert (own["state"], own["scope"]) == ("open", "process")


def test_a_process_that_never_called_the_service_reports_the_journal(fake):
    trip_acme()
    # A fresh in-process state stands for another process (a shell's integrations_health).
    with isolated_state(redis_url=""):
        breaker = snapshot(["acme"])["acme"]["breaker"]
    assert breaker["state"] == "open"
    assert breaker["retry_at"] is not None
    assert breaker["scope"] == "process"
    assert "this process has not called acme" in breaker["note"]
    assert "closed → open" in breaker["note"]


def test_without_any_transition_the_report_says_what_it_knows(fake):
    breaker = snapshot(["acme"])["acme"]["breaker"]
    assert breaker["state"] == "closed"
    assert "has not called acme and no process has recorded a transition" in breaker["note"]


def test_calls_that_change_nothing_never_touch_the_database(fake, django_assert_num_queries):
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/ok", status=200)
        mock.get(f"{BASE}/bad", status=503)
        with django_assert_num_queries(0):
            for _ in range(20):
                ServiceClient("acme").get("/ok")
            with pytest.raises(ServerError):
                ServiceClient("acme").get("/bad")  # one failure: counted, no transition
        assert not BreakerTransition.objects.exists()
        with pytest.raises(ServerError):
            ServiceClient("acme").get("/bad")  # the transition: journaled
    assert BreakerTransition.objects.filter(service="acme", to_state="open").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_integrations_health_in_a_shell_sees_the_breaker_another_process_opened(fake, settings):
    """The #12 report: a shell's `integrations_health` said "closed" while the server's breaker
    was open. Here this process opens it; a real `manage.py` process reads the journal."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    trip_acme()
    repo = Path(__file__).resolve().parents[3]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": "",
        "LIAISON_REQUIRE_SERVICES": "",
        "INTEGRATIONS_SERVICES": json.dumps(settings.INTEGRATIONS_SERVICES),
    }
    shell = subprocess.run(
        [sys.executable, "manage.py", "integrations_health", "--json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Exit status 1: unhealthy, because the shell now knows the breaker is open.
    assert shell.returncode == 1, shell.stderr[-2000:]
    report = json.loads(shell.stdout[shell.stdout.index("{") :])
    assert report["healthy"] is False
    assert any(
        alert["code"] == "breaker_open" and "acme" in alert["message"] for alert in report["alerts"]
    )
    assert '"breaker_state": "open"' in json.dumps(report)
