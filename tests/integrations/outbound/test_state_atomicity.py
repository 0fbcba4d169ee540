"""Several real processes against one real Redis: each transition happens once, and every
process sees it at once (the scripts own every transition; no process replays or copies it).

The children wait on a Redis list until the parent releases them all together, then race.
Clock values are explicit, so the outcome depends only on the atomicity of the scripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from integrations.outbound import rules
from integrations.outbound.config import ServiceConfig
from integrations.outbound.redis_state import RedisBackend
from integrations.outbound.testing import _delete_keys

pytestmark = pytest.mark.redis

REPO_ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 4
T0 = 1_700_000_000.0

CHILD = r"""
import json, os, sys
import django
django.setup()
import redis
from integrations.outbound import rules
from integrations.outbound.config import ServiceConfig
from integrations.outbound.redis_state import RedisBackend

url, prefix, mode, now, rounds = sys.argv[1:6]
now, rounds = float(now), int(rounds)
cfg = ServiceConfig(name="atom", breaker_fail_max=3, breaker_reset_timeout=30.0,
                    limiter_capacity=1000.0, limiter_refill_rate=1000.0)
backend = RedisBackend(url, prefix)
redis.Redis.from_url(url).blpop([prefix + ":go"], timeout=60)
result = {"moved": [], "admissions": []}
if mode == "fail":
    for _ in range(rounds):
        outcome = backend.record(cfg, now, rules.Report({"attempts": 1}, failed=True))
        result["moved"].append(outcome.moved_from)
for _ in range(rounds):
    a = backend.admit(cfg, now + (31.0 if mode == "probe" else 0.0))
    result["admissions"].append([a.verdict, a.probe, a.moved_from, a.breaker_state])
print(json.dumps(result))
"""

CFG = ServiceConfig(
    name="atom",
    breaker_fail_max=3,
    breaker_reset_timeout=30.0,
    limiter_capacity=1000.0,
    limiter_refill_rate=1000.0,
)


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"test:{uuid.uuid4().hex[:12]}"
    try:
        yield value
    finally:
        _delete_keys(django_settings.REDIS_URL, value)


def race(prefix: str, mode: str, now: float, rounds: int) -> list[dict]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "PYTHONPATH": str(REPO_ROOT),
    }
    url = django_settings.REDIS_URL
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, prefix, mode, repr(now), str(rounds)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    client = redis.Redis.from_url(url)
    results = []
    try:
        # Released together once every child is blocked on the list (or has started).
        client.rpush(f"{prefix}:go", *["go"] * PROCESSES)
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        client.close()
    return results


def test_concurrent_failures_open_the_breaker_exactly_once_and_then_every_process_refuses(
    prefix,
):
    results = race(prefix, "fail", T0, rounds=3)
    moved = [m for result in results for m in result["moved"] if m]
    assert moved == [rules.CLOSED]  # 12 failures raced; one of them made the one transition
    status = RedisBackend(django_settings.REDIS_URL, prefix).breaker_status("atom")
    assert (status.state, status.trips) == (rules.OPEN, 1)
    # Each process admitted only after its own three failures: by then it was open for all.
    verdicts = [a[0] for result in results for a in result["admissions"]]
    assert verdicts == [rules.REFUSED] * (PROCESSES * 3)


def test_exactly_one_half_open_probe_is_admitted_across_processes(prefix):
    backend = RedisBackend(django_settings.REDIS_URL, prefix)
    for _ in range(CFG.breaker_fail_max):
        backend.record(CFG, T0, rules.Report({"attempts": 1}, failed=True))
    assert backend.breaker_status("atom").state == rules.OPEN
    results = race(prefix, "probe", T0, rounds=5)
    admissions = [a for result in results for a in result["admissions"]]
    probes = [a for a in admissions if a[0] == rules.OK]
    assert len(probes) == 1
    assert probes[0][1:] == [True, rules.OPEN, rules.HALF_OPEN]
    refused = [a for a in admissions if a[0] != rules.OK]
    assert len(refused) == PROCESSES * 5 - 1
    assert {a[0] for a in refused} == {rules.REFUSED}
    assert {a[3] for a in refused} == {rules.HALF_OPEN}  # the probe was out for all of them
    assert backend.breaker_status("atom").state == rules.HALF_OPEN
