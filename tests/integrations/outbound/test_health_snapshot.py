"""integrations.outbound.health.snapshot(): what the ops dashboard reads, in both state modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from django.conf import settings as django_settings

from integrations.core.exceptions import ClientError, ServiceUnavailable
from integrations.outbound.health import snapshot
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state

BASE = "https://api.acme.test"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def fake(request: pytest.FixtureRequest, settings) -> Iterator[FakeRuntime]:
    settings.INTEGRATIONS_SERVICES = {
        "acme": {
            "base_url": BASE,
            "retries": 2,
            "breaker_fail_max": 4,
            "limiter_capacity": 10,
            "limiter_refill_rate": 5,
        }
    }
    url = "" if request.param == "memory" else django_settings.REDIS_URL
    runtime = FakeRuntime()
    with isolated_state(redis_url=url), use_runtime(runtime.as_runtime()):
        yield runtime


def test_snapshot_reports_calls_errors_latency_retries_breaker_and_limiter(fake):
    durations = iter([0.004, 0.040, 0.300, 0.020, 0.008, 0.009, 0.007])

    def respond(request):
        fake.advance(next(durations))  # the "network" takes this long on the fake clock
        status = 503 if request.url.endswith("/flaky") and len(mock.calls) < 2 else 200
        if request.url.endswith("/missing"):
            status = 404
        return (status, {}, "")

    with responses.RequestsMock() as mock:
        for path in ("/flaky", "/ok", "/missing"):
            mock.add_callback(responses.GET, f"{BASE}{path}", callback=respond)
        ServiceClient("acme").get("/flaky")  # 503, 503, 200: two retries
        ServiceClient("acme").get("/ok")
        with pytest.raises(ClientError):
            ServiceClient("acme").get("/missing")
        ServiceClient("acme").get("/ok")
    acme = snapshot()["acme"]
    assert acme["calls"] == 4
    assert acme["attempts"] == 6
    assert acme["successes"] == 3
    assert acme["errors"] == {"ServerError": 2, "ClientError": 1}
    assert acme["error_rate"] == 0.5
    assert acme["retries"] == 2
    assert acme["latency_ms"]["p50"] == 10.0
    assert acme["latency_ms"]["p95"] == 500.0
    breaker = {key: acme["breaker"][key] for key in acme["breaker"] if key not in {"scope", "note"}}
    assert breaker == {
        "state": "closed",
        "retry_at": None,
        "fail_counter": 0,
        "trips": 0,
        "rejected": 0,
    }
    limiter = acme["rate_limit"]
    assert (limiter["capacity"], limiter["refill_rate"]) == (10.0, 5.0)
    assert 0 < limiter["utilization"] < 1
    assert limiter["waits"] == 0
    assert acme["backend"] in {"memory", "redis"}
    assert {"stripe", "sendgrid", "google", "github", "oidc"} <= set(snapshot())


def test_snapshot_shows_an_open_breaker_with_its_retry_time_and_trips(fake):
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/down", status=500)
        for _ in range(2):
            with pytest.raises(Exception):  # noqa: B017, PT011 - ServerError or fail-fast
                ServiceClient("acme").get("/down")
    opened = snapshot(["acme"])["acme"]
    assert opened["breaker"]["state"] == "open"
    assert opened["breaker"]["trips"] == 1
    assert opened["breaker"]["retry_at"] is not None
    with pytest.raises(ServiceUnavailable):
        ServiceClient("acme").get("/down")
    assert snapshot(["acme"])["acme"]["breaker"]["rejected"] >= 1


def test_metrics_outside_the_window_are_not_reported(fake, settings):
    settings.INTEGRATIONS_METRICS_WINDOW_SECONDS = 120
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/ok", status=200)
        ServiceClient("acme").get("/ok")
    assert snapshot(["acme"])["acme"]["calls"] == 1
    fake.advance(600)
    assert snapshot(["acme"])["acme"]["calls"] == 0
