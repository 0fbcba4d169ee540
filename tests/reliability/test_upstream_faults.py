"""Upstream faults over a real socket: 500s, 429 + Retry-After, timeouts, connection resets.

`ServiceClient` talks to a fake upstream on 127.0.0.1 (plain http is allowed for loopback).
Backoff and Retry-After waits go through an injected clock/sleeper (`FakeRuntime`), so nothing
waits for real except the read timeouts themselves (a quarter of a second each). The breaker,
limiter and metrics state is in-process ("memory") and, in the services run, in Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings

from integrations.core.exceptions import (
    RateLimitExceeded,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TransportError,
)
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import get_guard, use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state
from tests.reliability.upstream import FakeUpstream, fake_upstream

SERVICE = "upstream"
READ_TIMEOUT = 0.25
RETRIES = 2
RESET_TIMEOUT = 30.0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def upstream(request: pytest.FixtureRequest, settings) -> Iterator[FakeUpstream]:
    url = "" if request.param == "memory" else django_settings.REDIS_URL
    with fake_upstream() as server:
        # The `settings` fixture is used before isolated_state's override, never inside it
        # (it would restore the overridden REDIS_URL at teardown and leak it).
        settings.INTEGRATIONS_SERVICES = {
            SERVICE: {
                "base_url": server.base_url,
                "connect_timeout": 2.0,
                "read_timeout": READ_TIMEOUT,
                "retries": RETRIES,
                "backoff_base": 1.0,
                "backoff_cap": 8.0,
                # Retry tests: the breaker must not interfere (its own test lowers this).
                "breaker_fail_max": 50,
                "breaker_min_calls": 50,
                "breaker_reset_timeout": RESET_TIMEOUT,
            }
        }
        with isolated_state(redis_url=url):
            yield server


@pytest.fixture
def fake() -> Iterator[FakeRuntime]:
    runtime = FakeRuntime()
    with use_runtime(runtime.as_runtime()):
        yield runtime


def client() -> ServiceClient:
    return ServiceClient(SERVICE)


def breaker_changes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        str(record.to_state)
        for record in caplog.records
        if getattr(record, "event", "") == "integrations.breaker.state_change"
        and getattr(record, "service", "") == SERVICE
    ]


def test_breaker_opens_on_5xx_fails_fast_and_recovers_through_half_open(
    upstream, fake, settings, caplog, report
):
    settings.INTEGRATIONS_SERVICES = {
        SERVICE: {**settings.INTEGRATIONS_SERVICES[SERVICE], "breaker_fail_max": 3}
    }
    caplog.set_level(logging.INFO, logger="integrations.outbound.guard")
    guard = get_guard(SERVICE)

    # One GET: the first attempt and two retries all get 500; the third failure opens it.
    with pytest.raises(ServerError):
        client().get("/flaky")
    assert upstream.total("/flaky") == 1 + RETRIES
    assert guard.state() == "open"

    # Open: calls fail fast, nothing reaches the upstream.
    for _ in range(5):
        with pytest.raises(ServiceUnavailable):
            client().get("/flaky")
    assert upstream.total("/flaky") == 1 + RETRIES

    # After the reset timeout one trial call goes out; it fails, so the breaker opens again
    # and the client's retry is refused by it (the trial's 500 is the cause).
    fake.advance(RESET_TIMEOUT + 1)
    with pytest.raises(ServiceUnavailable) as info:
        client().get("/flaky")
    assert isinstance(info.value.__cause__, ServerError)
    assert upstream.total("/flaky") == 2 + RETRIES  # the trial only: its retry was refused
    with pytest.raises(ServiceUnavailable):
        client().get("/flaky")
    assert upstream.total("/flaky") == 2 + RETRIES

    # The upstream recovers: the next trial succeeds and closes the breaker.
    upstream.failing = False
    fake.advance(RESET_TIMEOUT + 1)
    assert client().get("/flaky").status_code == 200
    assert guard.state() == "closed"
    for _ in range(3):
        assert client().get("/flaky").status_code == 200
    assert upstream.total("/flaky") == 6 + RETRIES
    changes = breaker_changes(caplog)
    assert changes == ["open", "half-open", "open", "half-open", "closed"], changes
    report(
        "breaker",
        upstream_arrivals=upstream.total("/flaky"),
        fail_fast_rejections=6,
        state_changes="→".join(changes),
    )


def test_429_retry_after_is_honoured_and_a_long_one_is_not_waited_for(upstream, fake, report):
    upstream.retry_after = "7"
    assert client().get("/limited").status_code == 200
    assert upstream.count("GET", "/limited") == 2
    assert fake.sleeps == [7.0]  # exactly what the upstream asked, not the backoff schedule

    # A POST with an idempotency key is retried after the pause, with the same key.
    assert client().post("/limited", json={}, idempotency_key="order-1").status_code == 200
    assert upstream.count("POST", "/limited", "order-1") == 2
    assert fake.sleeps == [7.0, 7.0]

    # Longer than retry_after_max (60 s): raised at once, carrying when to come back.
    upstream.retry_after = "3600"
    with pytest.raises(RateLimitExceeded) as info:
        client().post("/limited", json={}, idempotency_key="order-2")
    assert upstream.count("POST", "/limited", "order-2") == 1
    assert info.value.retry_at is not None
    assert info.value.retry_at.timestamp() == pytest.approx(fake.now + 3600, abs=1)
    report("retry-after", arrivals=upstream.total("/limited"), slept=fake.sleeps)


@pytest.mark.parametrize(
    ("path", "error"),
    [("/error", ServerError), ("/slow", Timeout), ("/reset", TransportError)],
)
def test_no_post_without_idempotency_key_is_repeated(upstream, fake, path, error, report):
    upstream.slow_seconds = READ_TIMEOUT * 3

    # GET is idempotent: retried with backoff (fake sleeps), then the typed error.
    with pytest.raises(error):
        client().get(path)
    assert upstream.count("GET", path) == 1 + RETRIES
    assert fake.sleeps == [1.0, 2.0]

    # POST without a key: sent once, never repeated, whatever the failure.
    with pytest.raises(error):
        client().post(path, json={"charge": 1})
    assert upstream.count("POST", path) == 1

    # POST with a key: retried, every attempt carrying the same key.
    with pytest.raises(error):
        client().post(path, json={"charge": 2}, idempotency_key="charge-2")
    assert upstream.count("POST", path, "charge-2") == 1 + RETRIES
    assert [k for (m, p, k) in upstream.arrivals if m == "POST" and p == path] == ["-", "charge-2"]
    report(
        f"{error.__name__} on {path}",
        get_arrivals=upstream.count("GET", path),
        post_without_key=upstream.count("POST", path),
        post_with_key=upstream.count("POST", path, "charge-2"),
    )
