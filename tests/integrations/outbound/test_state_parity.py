"""One rule set, two implementations: the in-process backend and the Redis scripts agree.

Every scenario runs against `MemoryBackend` and `RedisBackend` with the same explicit clock
values and asserts the same answers; `test_a_random_trace_gets_identical_answers` then replays
one long mixed sequence against both and compares every answer step by step.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from django.conf import settings as django_settings

from integrations.outbound import rules
from integrations.outbound.config import ServiceConfig
from integrations.outbound.memory_state import MemoryBackend
from integrations.outbound.redis_state import RedisBackend
from integrations.outbound.testing import _delete_keys

T0 = 1_700_000_000.0
CFG = ServiceConfig(
    name="parity",
    connect_timeout=1.0,
    read_timeout=4.0,
    breaker_fail_max=3,
    breaker_reset_timeout=30.0,
    breaker_success_threshold=1,
    breaker_window=10,
    breaker_min_calls=4,
    breaker_failure_rate=0.5,
    limiter_capacity=3.0,
    limiter_refill_rate=2.0,
    limiter_max_wait=1.0,
)
# The bucket out of the way, for breaker scenarios.
WIDE = replace(CFG, limiter_capacity=1000.0, limiter_refill_rate=1000.0)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Iterator[MemoryBackend | RedisBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    prefix = f"test:{uuid.uuid4().hex[:12]}"
    redis_backend = RedisBackend(django_settings.REDIS_URL, prefix)
    try:
        yield redis_backend
    finally:
        _delete_keys(django_settings.REDIS_URL, prefix)


def fail(backend, now: float, cfg: ServiceConfig = WIDE, *, probe: bool = False) -> rules.Outcome:
    return backend.record(cfg, now, rules.Report({"attempts": 1}, failed=True, probe=probe))


def succeed(
    backend, now: float, cfg: ServiceConfig = WIDE, *, probe: bool = False
) -> rules.Outcome:
    return backend.record(cfg, now, rules.Report({"attempts": 1}, failed=False, probe=probe))


def trip(backend, now: float = T0) -> None:
    for _ in range(WIDE.breaker_fail_max):
        backend.admit(WIDE, now)
        fail(backend, now)


def test_consecutive_failures_trip_the_breaker(backend):
    assert fail(backend, T0).breaker_state == rules.CLOSED
    assert fail(backend, T0).breaker_state == rules.CLOSED
    opened = fail(backend, T0 + 1)
    assert (opened.breaker_state, opened.moved_from, opened.reason) == (
        rules.OPEN,
        rules.CLOSED,
        rules.BY_CONSECUTIVE,
    )
    assert backend.breaker_status("parity") == rules.BreakerStatus(rules.OPEN, T0 + 1, 3, 1)


def test_failure_rate_over_the_window_trips_the_breaker(backend):
    cfg = replace(WIDE, breaker_fail_max=100)
    outcomes = [fail(backend, T0, cfg) if i % 2 else succeed(backend, T0, cfg) for i in range(3)]
    assert [o.breaker_state for o in outcomes] == [rules.CLOSED] * 3  # fewer than min_calls
    opened = fail(backend, T0, cfg)  # 2 of 4 = 50 %
    assert (opened.breaker_state, opened.reason, opened.seen, opened.failed) == (
        rules.OPEN,
        rules.BY_RATE,
        4,
        2,
    )


def test_a_success_or_an_excluded_error_resets_the_consecutive_count(backend):
    # A 4xx or a business error the caller excluded is reported as "not failed".
    cfg = replace(WIDE, breaker_min_calls=100)  # the rate rule out of the way
    for _ in range(5):
        fail(backend, T0, cfg)
        fail(backend, T0, cfg)
        assert succeed(backend, T0, cfg).breaker_state == rules.CLOSED
    status = backend.breaker_status("parity")
    assert (status.state, status.fail_counter, status.trips) == (rules.CLOSED, 0, 0)


def test_excluded_errors_alone_never_trip(backend):
    for _ in range(50):
        assert backend.admit(WIDE, T0).verdict == rules.OK
        assert succeed(backend, T0).breaker_state == rules.CLOSED
    assert backend.breaker_status("parity").trips == 0


def test_open_refuses_until_the_reset_timeout(backend):
    trip(backend)
    refused = backend.admit(WIDE, T0 + 29.9)
    assert (refused.verdict, refused.breaker_state, refused.retry_at) == (
        rules.REFUSED,
        rules.OPEN,
        T0 + 30,
    )
    assert backend.read_metrics("parity", T0 + 29.9, 900)["rejected_open"] == 1


def test_half_open_admits_one_probe_and_refuses_the_others(backend):
    trip(backend)
    probe = backend.admit(WIDE, T0 + 30)
    assert (probe.verdict, probe.probe, probe.breaker_state, probe.moved_from) == (
        rules.OK,
        True,
        rules.HALF_OPEN,
        rules.OPEN,
    )
    other = backend.admit(WIDE, T0 + 31)
    assert (other.verdict, other.breaker_state, other.probe) == (
        rules.REFUSED,
        rules.HALF_OPEN,
        False,
    )
    assert other.retry_at == T0 + 30 + WIDE.breaker_probe_lease


def test_probe_success_closes_the_breaker(backend):
    trip(backend)
    assert backend.admit(WIDE, T0 + 30).probe
    closed = succeed(backend, T0 + 31, probe=True)
    assert (closed.breaker_state, closed.moved_from, closed.reason) == (
        rules.CLOSED,
        rules.HALF_OPEN,
        rules.BY_PROBE_SUCCEEDED,
    )
    after = backend.admit(WIDE, T0 + 31)
    assert (after.verdict, after.probe, after.fail_counter) == (rules.OK, False, 0)
    # A fresh window: two new failures do not re-trip it.
    fail(backend, T0 + 32)
    assert fail(backend, T0 + 32).breaker_state == rules.CLOSED


def test_probe_failure_reopens_the_breaker(backend):
    trip(backend)
    assert backend.admit(WIDE, T0 + 30).probe
    reopened = fail(backend, T0 + 31, probe=True)
    assert (reopened.breaker_state, reopened.moved_from, reopened.reason) == (
        rules.OPEN,
        rules.HALF_OPEN,
        rules.BY_PROBE_FAILED,
    )
    assert backend.breaker_status("parity") == rules.BreakerStatus(rules.OPEN, T0 + 31, 3, 2)
    assert backend.admit(WIDE, T0 + 60).verdict == rules.REFUSED
    assert backend.admit(WIDE, T0 + 61).probe


def test_several_probe_successes_when_the_threshold_asks_for_them(backend):
    cfg = replace(WIDE, breaker_success_threshold=2)
    trip(backend)
    assert backend.admit(cfg, T0 + 30).probe
    assert succeed(backend, T0 + 30, cfg, probe=True).breaker_state == rules.HALF_OPEN
    second = backend.admit(cfg, T0 + 30)  # the first probe reported: the next may go
    assert (second.verdict, second.probe, second.moved_from) == (rules.OK, True, "")
    assert succeed(backend, T0 + 30, cfg, probe=True).moved_from == rules.HALF_OPEN


def test_a_lost_probe_is_replaced_after_its_lease(backend):
    trip(backend)
    assert backend.admit(WIDE, T0 + 30).probe
    lease_end = T0 + 30 + WIDE.breaker_probe_lease
    assert backend.admit(WIDE, lease_end - 0.5).verdict == rules.REFUSED
    replacement = backend.admit(WIDE, lease_end)
    assert (replacement.verdict, replacement.probe, replacement.moved_from) == (rules.OK, True, "")


def test_late_outcomes_move_nothing(backend):
    trip(backend)
    # A call admitted before the trip reports its failure (and a success) late.
    assert fail(backend, T0 + 1).moved_from == ""
    assert succeed(backend, T0 + 1).breaker_state == rules.OPEN
    assert backend.admit(WIDE, T0 + 30).probe
    # Still half-open: a non-probe report changes nothing.
    assert succeed(backend, T0 + 31).breaker_state == rules.HALF_OPEN
    assert backend.breaker_status("parity").state == rules.HALF_OPEN


def test_bucket_burst_then_waits_then_refusal(backend):
    answers = [backend.admit(CFG, T0) for _ in range(6)]
    assert [(a.verdict, a.wait) for a in answers] == [
        (rules.OK, 0.0),
        (rules.OK, 0.0),
        (rules.OK, 0.0),
        (rules.OK, 0.5),
        (rules.OK, 1.0),
        (rules.REJECT, 1.5),
    ]
    assert answers[-1].retry_at == T0 + 1.5
    # The refusal took nothing: the next token is still 1.5 s away.
    assert backend.admit(CFG, T0).wait == 1.5
    assert backend.limiter_status(CFG, T0)[0] == -2.0
    metrics = backend.read_metrics("parity", T0, 900)
    assert (metrics["admitted"], metrics["rl_waits"], metrics["rl_wait_ms"]) == (5, 2, 1500)
    assert metrics["rl_rejected"] == 2


def test_bucket_refills_at_the_rate_up_to_capacity(backend):
    for _ in range(3):
        backend.admit(CFG, T0)
    assert backend.limiter_status(CFG, T0 + 1.0) == (2.0, 0.0)
    assert backend.limiter_status(CFG, T0 + 60.0) == (3.0, 0.0)
    assert backend.admit(CFG, T0 + 0.5).wait == 0.0  # one token back after 0.5 s
    assert backend.admit(CFG, T0 + 0.5).wait == 0.5


def test_a_pause_makes_calls_wait_or_refuses_them_with_the_retry_time(backend):
    backend.pause(CFG, T0 + 0.75, T0)
    paused = backend.admit(CFG, T0)
    assert (paused.verdict, paused.wait, paused.retry_at) == (rules.PAUSE, 0.75, T0 + 0.75)
    assert backend.admit(CFG, T0 + 0.75).verdict == rules.OK
    backend.pause(CFG, T0 + 30, T0 + 1)
    refused = backend.admit(CFG, T0 + 1)
    assert (refused.verdict, refused.retry_at) == (rules.REJECT, T0 + 30)
    backend.pause(CFG, T0 + 5, T0 + 1)  # a shorter pause never shortens a longer one
    assert backend.limiter_status(CFG, T0 + 1)[1] == T0 + 30
    assert backend.read_metrics("parity", T0 + 1, 900)["rl_pauses"] == 3


def test_a_refused_token_never_moves_the_breaker_to_half_open(backend):
    cfg = replace(CFG, limiter_capacity=1.0, limiter_refill_rate=0.01, limiter_max_wait=0.0)
    for _ in range(3):
        fail(backend, T0, cfg)
    assert backend.admit(cfg, T0 + 30).verdict == rules.OK  # the probe takes the only token
    fail(backend, T0 + 30, cfg, probe=True)
    refused = backend.admit(cfg, T0 + 60)  # reset elapsed, but no token
    assert (refused.verdict, refused.breaker_state) == (rules.REJECT, rules.OPEN)


@pytest.mark.redis
def test_a_random_trace_gets_identical_answers():
    prefix = f"test:{uuid.uuid4().hex[:12]}"
    memory, shared = MemoryBackend(), RedisBackend(django_settings.REDIS_URL, prefix)
    cfg = replace(CFG, breaker_fail_max=4, breaker_min_calls=6, limiter_capacity=5.0)
    draw = random.Random(1409)
    now, probe = T0, {id(memory): False, id(shared): False}
    try:
        for step in range(1500):
            now += draw.choice((0.0, 0.0, 0.05, 0.25, 1.0, 7.0))
            action = draw.choice(("admit", "admit", "ok", "fail", "fail", "pause", "status"))
            answers = []
            for backend in (memory, shared):
                if action == "admit":
                    answer: object = backend.admit(cfg, now)
                    probe[id(backend)] = answer.probe  # type: ignore[attr-defined]
                elif action == "pause":
                    backend.pause(cfg, now + random.Random(step).choice((0.5, 3.0)), now)
                    answer = backend.limiter_status(cfg, now)
                elif action == "status":
                    answer = (backend.breaker_status("parity"), backend.limiter_status(cfg, now))
                else:
                    failed, was_probe = action == "fail", probe[id(backend)]
                    report = rules.Report({"attempts": 1}, failed=failed, probe=was_probe)
                    answer = backend.record(cfg, now, report)
                    probe[id(backend)] = False
                answers.append(answer)
            assert answers[0] == answers[1], (step, action, answers)
        assert memory.read_metrics("parity", now, 900) == shared.read_metrics("parity", now, 900)
    finally:
        _delete_keys(django_settings.REDIS_URL, prefix)
