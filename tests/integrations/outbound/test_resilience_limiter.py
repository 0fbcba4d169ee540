"""Rate limiter: token bucket, bounded waits, 429 feedback, one budget for many processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from django.conf import settings as django_settings

from integrations.core.exceptions import RateLimitExceeded
from integrations.outbound.health import snapshot
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import guarded_call, use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state

REPO_ROOT = Path(__file__).resolve().parents[3]
BASE = "https://api.acme.test"
LIMITED = {
    "base_url": BASE,
    "retries": 0,
    "limiter_capacity": 2,
    "limiter_refill_rate": 1.0,
    "limiter_max_wait": 5.0,
}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def fake(request: pytest.FixtureRequest, settings) -> Iterator[FakeRuntime]:
    settings.INTEGRATIONS_SERVICES = {"acme": dict(LIMITED)}
    url = "" if request.param == "memory" else django_settings.REDIS_URL
    runtime = FakeRuntime()
    with isolated_state(redis_url=url), use_runtime(runtime.as_runtime()):
        yield runtime


def test_burst_goes_out_at_once_then_callers_wait_for_refill(fake):
    for _ in range(4):
        guarded_call("acme", lambda: None)
    # Capacity 2 at once, then one token per second.
    assert fake.sleeps == [1.0, 1.0]
    stats = snapshot(["acme"])["acme"]["rate_limit"]
    assert stats["waits"] == 2
    assert stats["wait_seconds"] == 2.0


def test_waiting_past_the_bound_raises_without_calling(fake):
    calls = []
    for _ in range(2):
        guarded_call("acme", calls.append, 1)
    # The next five tokens are reserved by callers waiting 1..5 s; the sixth would wait 6 s.
    for _ in range(5):
        guarded_call("acme", calls.append, 1)
        fake.now -= fake.sleeps[-1]  # as if the callers were concurrent: no time passes
    with pytest.raises(RateLimitExceeded) as info:
        guarded_call("acme", calls.append, 1)
    assert len(calls) == 7
    assert info.value.service == "acme"
    assert info.value.retry_at == datetime.fromtimestamp(fake.now + 6.0, UTC)
    assert "limiter_max_wait" in str(info.value)
    assert snapshot(["acme"])["acme"]["rate_limit"]["rejected"] == 1


def test_a_429_pauses_the_service_and_a_long_pause_rejects_at_once(fake):
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=429, headers={"Retry-After": "30"})
        with pytest.raises(RateLimitExceeded):
            ServiceClient("acme").get("/x")
        # Paused for 30 s, longer than limiter_max_wait: fail now, without the network.
        with pytest.raises(RateLimitExceeded) as info:
            ServiceClient("acme").get("/x")
        assert len(mock.calls) == 1
    assert info.value.retry_at == datetime.fromtimestamp(fake.now + 30, UTC)
    assert snapshot(["acme"])["acme"]["rate_limit"]["paused_until"] is not None


def test_sdk_429_pauses_the_service(fake):
    class RateLimited(Exception):
        http_status = 429
        headers = {"Retry-After": "4"}

    def call():
        raise RateLimited()

    with pytest.raises(RateLimited):
        guarded_call("acme", call)
    guarded_call("acme", lambda: None)
    assert fake.sleeps == [4.0]


WORKER = r"""
import json, os, sys, time
from integrations.outbound.resilience import guarded_call

start_at = float(os.environ["START_AT"])
while time.time() < start_at:
    time.sleep(0.005)
stamps = []
for _ in range(int(os.environ["CALLS"])):
    guarded_call("shared", lambda: None)
    stamps.append(time.time())
print(json.dumps(stamps))
"""


@pytest.mark.redis
def test_the_budget_is_shared_by_several_processes():
    capacity, rate, processes, calls = 5, 20.0, 3, 12
    services = {
        "shared": {
            "limiter_capacity": capacity,
            "limiter_refill_rate": rate,
            "limiter_max_wait": 10,
        }
    }
    with isolated_state(redis_url=django_settings.REDIS_URL) as prefix:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.test_settings",
                "REDIS_URL": django_settings.REDIS_URL,
                "INTEGRATIONS_STATE_PREFIX": prefix,
                "INTEGRATIONS_SERVICES": json.dumps(services),
                "PYTHONPATH": str(REPO_ROOT),
                "START_AT": repr(time.time() + 3.0),
                "CALLS": str(calls),
            }
        )
        children = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        stamps: list[float] = []
        try:
            for child in children:
                out, err = child.communicate(timeout=60)
                assert child.returncode == 0, err[-2000:]
                stamps.extend(json.loads(out.strip().splitlines()[-1]))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
    stamps.sort()
    total = processes * calls
    assert len(stamps) == total
    # Alone, each process would finish its 12 calls at once; together they share 20/s.
    assert stamps[-1] - stamps[0] >= (total - capacity) / rate * 0.9
    worst = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert worst <= capacity + rate + 1
