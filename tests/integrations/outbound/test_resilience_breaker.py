"""Circuit breaker: consecutive and rate rules, half-open, fail-fast, sharing, fallback."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from django.conf import settings as django_settings

from integrations.core.exceptions import ClientError, ServerError, ServiceUnavailable
from integrations.outbound.health import snapshot
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import guarded_call, use_runtime
from integrations.outbound.resilience import state as state_module
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state

REPO_ROOT = Path(__file__).resolve().parents[3]
BASE = "https://api.acme.test"
BREAKER = {
    "base_url": BASE,
    "retries": 0,
    "breaker_fail_max": 3,
    "breaker_reset_timeout": 30,
    "breaker_min_calls": 50,
}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def mode(request: pytest.FixtureRequest, settings) -> Iterator[str]:
    settings.INTEGRATIONS_SERVICES = {"acme": dict(BREAKER)}
    url = "" if request.param == "memory" else django_settings.REDIS_URL
    with isolated_state(redis_url=url):
        yield request.param


@pytest.fixture
def fake(mode: str) -> Iterator[FakeRuntime]:
    runtime = FakeRuntime()
    with use_runtime(runtime.as_runtime()):
        yield runtime


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def breaker_state(service: str = "acme") -> str:
    return str(snapshot([service])[service]["breaker"]["state"])


def transitions(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.from_state, r.to_state)  # type: ignore[attr-defined]
        for r in caplog.records
        if getattr(r, "event", "") == "integrations.breaker.state_change"
    ]


def test_opens_after_consecutive_failures_and_fails_fast_without_the_network(fake, mocked, caplog):
    caplog.set_level(logging.INFO, logger="integrations")
    mocked.get(f"{BASE}/x", status=503)
    for _ in range(3):
        with pytest.raises(ServerError):
            ServiceClient("acme").get("/x")
    opened_at = fake.now
    with pytest.raises(ServiceUnavailable) as info:
        ServiceClient("acme").get("/x")
    assert len(mocked.calls) == 3  # the fourth call never reached the network
    assert info.value.service == "acme"
    assert info.value.retry_at == datetime.fromtimestamp(opened_at + 30, UTC)
    assert "acme" in str(info.value)
    assert "retry at" in str(info.value)
    assert breaker_state() == "open"
    assert transitions(caplog) == [("closed", "open")]


def test_half_open_after_the_reset_timeout_then_closes_on_success(fake, mocked, caplog):
    caplog.set_level(logging.INFO, logger="integrations")
    mocked.get(f"{BASE}/x", status=500)
    for _ in range(3):
        with pytest.raises(ServerError):
            ServiceClient("acme").get("/x")
    fake.advance(29)
    with pytest.raises(ServiceUnavailable):
        ServiceClient("acme").get("/x")
    fake.advance(2)
    mocked.replace(responses.GET, f"{BASE}/x", status=200)
    assert ServiceClient("acme").get("/x").status_code == 200
    assert breaker_state() == "closed"
    assert transitions(caplog) == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]
    assert len(mocked.calls) == 4


def test_failed_trial_call_reopens_the_breaker(fake, mocked):
    mocked.get(f"{BASE}/x", status=502)
    for _ in range(3):
        with pytest.raises(ServerError):
            ServiceClient("acme").get("/x")
    fake.advance(31)
    with pytest.raises(ServerError):
        ServiceClient("acme").get("/x")  # the trial goes out and fails
    with pytest.raises(ServiceUnavailable) as info:
        ServiceClient("acme").get("/x")
    assert info.value.retry_at == datetime.fromtimestamp(fake.now + 30, UTC)
    assert len(mocked.calls) == 4


def test_client_errors_never_count_as_failures(fake, mocked):
    mocked.get(f"{BASE}/x", status=404)
    mocked.get(f"{BASE}/y", status=429)
    for _ in range(6):
        with pytest.raises(ClientError):
            ServiceClient("acme").get("/x")
    assert breaker_state() == "closed"
    assert len(mocked.calls) == 6


def test_failure_rate_over_the_window_opens_the_breaker(fake, mocked, settings, caplog):
    caplog.set_level(logging.INFO, logger="integrations")
    settings.INTEGRATIONS_SERVICES = {
        "acme": {**BREAKER, "breaker_fail_max": 100, "breaker_min_calls": 10}
    }
    mocked.get(f"{BASE}/ok", status=200)
    mocked.get(f"{BASE}/bad", status=500)
    # Alternating: never two failures in a row, so only the rate rule can trip.
    for i in range(9):
        if i % 2:
            with pytest.raises(ServerError):
                ServiceClient("acme").get("/bad")
        else:
            ServiceClient("acme").get("/ok")
    assert breaker_state() == "closed"  # 4 of 9, and fewer than 10 seen
    with pytest.raises(ServerError):
        ServiceClient("acme").get("/bad")  # 5 of 10 = 50 %
    assert breaker_state() == "open"
    assert any(
        getattr(r, "event", "") == "integrations.breaker.failure_rate_exceeded"
        for r in caplog.records
    )
    with pytest.raises(ServiceUnavailable):
        ServiceClient("acme").get("/ok")
    assert len(mocked.calls) == 10


def test_failure_rate_below_threshold_keeps_it_closed(fake, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {
        "acme": {**BREAKER, "breaker_fail_max": 100, "breaker_min_calls": 10}
    }
    mocked.get(f"{BASE}/ok", status=200)
    mocked.get(f"{BASE}/bad", status=500)
    for i in range(30):
        if i % 3 == 0:
            with pytest.raises(ServerError):
                ServiceClient("acme").get("/bad")
        else:
            ServiceClient("acme").get("/ok")
    assert breaker_state() == "closed"


def test_guarded_call_counts_only_classified_failures_and_fails_fast(fake):
    calls: list[str] = []

    class CardDeclined(Exception):
        pass

    class ApiDown(Exception):
        pass

    def charge(kind: str) -> str:
        calls.append(kind)
        if kind == "declined":
            raise CardDeclined("declined")
        if kind == "down":
            raise ApiDown("down")
        return "ch_1"

    def is_failure(exc: BaseException) -> bool:
        return isinstance(exc, ApiDown)

    assert guarded_call("acme", charge, "ok", is_failure=is_failure, operation="charges.create")
    for _ in range(5):
        with pytest.raises(CardDeclined):
            guarded_call("acme", charge, "declined", is_failure=is_failure)
    assert breaker_state() == "closed"
    for _ in range(3):
        with pytest.raises(ApiDown):
            guarded_call("acme", charge, kind="down", is_failure=is_failure)
    with pytest.raises(ServiceUnavailable):
        guarded_call("acme", charge, "ok", is_failure=is_failure)
    assert calls.count("ok") == 1
    assert len(calls) == 9


def test_no_lock_is_held_across_the_network_call(fake, mocked):
    mocked.get(f"{BASE}/fail", status=500)
    with pytest.raises(ServerError):
        ServiceClient("acme").get("/fail")  # a failure counted: both calls below record slowly
    release = threading.Event()
    order: list[str] = []

    def slow(request):
        release.wait(5)
        order.append("slow")
        return (200, {}, "")

    mocked.add_callback(responses.GET, f"{BASE}/slow", callback=slow)
    mocked.get(f"{BASE}/fast", status=200)
    worker = threading.Thread(target=lambda: ServiceClient("acme").get("/slow"))
    worker.start()
    try:
        ServiceClient("acme").get("/fast")
        order.append("fast")
    finally:
        release.set()
        worker.join(10)
    assert order == ["fast", "slow"]


CHILD = r"""
import json, os
import responses
from integrations.core.exceptions import ServerError, ServiceUnavailable
from integrations.outbound.http import ServiceClient

result = {}
with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
    mock.get("https://api.acme.test/x", status=200)
    mock.get("https://api.other.test/x", status=503)
    try:
        ServiceClient("acme").get("/x")
        result["acme"] = "sent"
    except ServiceUnavailable as exc:
        result["acme"] = "ServiceUnavailable"
        result["retry_at"] = exc.retry_at.isoformat()
    result["acme_network_calls"] = len(mock.calls)
    for _ in range(3):
        try:
            ServiceClient("other").get("/x")
        except ServerError:
            pass
print(json.dumps(result))
"""


def _child_env(prefix: str, services: dict) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "REDIS_URL": django_settings.REDIS_URL,
            "INTEGRATIONS_STATE_PREFIX": prefix,
            "INTEGRATIONS_SERVICES": json.dumps(services),
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


@pytest.mark.redis
def test_breaker_state_is_shared_with_a_second_process(settings, caplog):
    caplog.set_level(logging.INFO, logger="integrations")
    services = {"acme": dict(BREAKER), "other": {**BREAKER, "base_url": "https://api.other.test"}}
    settings.INTEGRATIONS_SERVICES = services
    with isolated_state(redis_url=django_settings.REDIS_URL) as prefix:
        with responses.RequestsMock() as mock:
            mock.get("https://api.other.test/x", status=200)
            ServiceClient("other").get("/x")  # this process has seen "other" closed
            mock.get(f"{BASE}/x", status=503)
            for _ in range(3):
                with pytest.raises(ServerError):
                    ServiceClient("acme").get("/x")
        assert breaker_state("acme") == "open"
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            cwd=REPO_ROOT,
            env=_child_env(prefix, services),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert child.returncode == 0, child.stderr[-2000:]
        result = json.loads(child.stdout.strip().splitlines()[-1])
        # The second process saw this process's open breaker and never sent the request...
        assert result["acme"] == "ServiceUnavailable"
        assert result["acme_network_calls"] == 0
        # ...and this process sees the breaker the second process opened, without a request.
        with responses.RequestsMock() as mock, pytest.raises(ServiceUnavailable):
            ServiceClient("other").get("/x")
        assert ("closed", "open") in [
            (r.from_state, r.to_state)  # type: ignore[attr-defined]
            for r in caplog.records
            if getattr(r, "service", "") == "other" and hasattr(r, "to_state")
        ]


def test_unreachable_redis_falls_back_to_in_process_state_with_one_warning(
    settings, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="integrations")
    monkeypatch.setattr(state_module, "_warned", False)
    settings.INTEGRATIONS_SERVICES = {"acme": dict(BREAKER)}
    settings.INTEGRATIONS_REDIS_RETRY_SECONDS = 300
    runtime = FakeRuntime()
    # Nothing listens on this port (in this helper's range): connection refused.
    with isolated_state(redis_url="redis://127.0.0.1:18199/0"), use_runtime(runtime.as_runtime()):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.get(f"{BASE}/ok", status=200)
            mock.get(f"{BASE}/bad", status=503)
            ServiceClient("acme").get("/ok")
            for _ in range(3):
                with pytest.raises(ServerError):
                    ServiceClient("acme").get("/bad")
            # The breaker still works, in this process.
            with pytest.raises(ServiceUnavailable):
                ServiceClient("acme").get("/ok")
            assert len(mock.calls) == 4
        assert snapshot(["acme"])["acme"]["backend"] == "memory-fallback"
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "integrations.outbound.state"
    ]
    assert len(warnings) == 1
    assert "redis_unavailable" in warnings[0].getMessage()


def test_breaker_opening_mid_retries_stops_them_and_keeps_the_last_error(fake, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"acme": {**BREAKER, "retries": 5}}
    mocked.get(f"{BASE}/x", status=503)
    with pytest.raises(ServiceUnavailable) as info:
        ServiceClient("acme").get("/x")
    assert len(mocked.calls) == 3  # fail_max 3: the fourth attempt is refused
    assert isinstance(info.value.__cause__, ServerError)
