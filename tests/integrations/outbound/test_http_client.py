"""ServiceClient: URLs, timeouts, error mapping, retries, Retry-After, idempotency keys."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import requests
import responses
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from integrations.core.exceptions import (
    ClientError,
    InsecureURLError,
    IntegrationError,
    RateLimitExceeded,
    ServerError,
    Timeout,
    TransportError,
    UnknownServiceError,
)
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state
from integrations.outbound.retry import backoff_delay, parse_retry_after

BASE = "https://api.acme.test"
# The breaker has its own tests; here it must not interfere with retries.
FAST = {
    "base_url": BASE,
    "retries": 3,
    "backoff_base": 1.0,
    "backoff_cap": 30.0,
    "breaker_fail_max": 50,
    "breaker_min_calls": 50,
}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def fake(request: pytest.FixtureRequest, settings) -> Iterator[FakeRuntime]:
    settings.INTEGRATIONS_SERVICES = {"acme": dict(FAST), "bare": {}}
    url = "" if request.param == "memory" else django_settings.REDIS_URL
    runtime = FakeRuntime()
    with isolated_state(redis_url=url), use_runtime(runtime.as_runtime()):
        yield runtime


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_relative_path_is_joined_to_base_url_with_the_default_timeout(fake, mocked):
    mocked.get(f"{BASE}/v1/things", json={"ok": True})
    response = ServiceClient("acme").get("/v1/things", params={"page": "2"})
    assert response.json() == {"ok": True}
    call = mocked.calls[0]
    assert call.request.url == f"{BASE}/v1/things?page=2"
    assert call.request.req_kwargs["timeout"] == (3.05, 30.0)


def test_timeout_can_be_overridden_per_call_and_per_service(fake, mocked, settings):
    mocked.get(f"{BASE}/a")
    ServiceClient("acme").get("/a", timeout=(1.0, 2.0))
    settings.INTEGRATIONS_SERVICES = {"acme": {**FAST, "connect_timeout": 0.5, "read_timeout": 4}}
    ServiceClient("acme").get("/a")
    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [(1.0, 2.0), (0.5, 4.0)]


def test_plain_http_base_url_is_refused_for_a_remote_host(fake, settings):
    settings.INTEGRATIONS_SERVICES = {"acme": {"base_url": "http://api.acme.test"}}
    with pytest.raises(InsecureURLError) as info:
        ServiceClient("acme").get("/x")
    assert isinstance(info.value, ImproperlyConfigured)
    assert "INTEGRATIONS_SERVICES['acme']['base_url']" in str(info.value)


def test_plain_http_is_allowed_on_loopback(fake, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"acme": {"base_url": "http://127.0.0.1:18101"}}
    mocked.get("http://127.0.0.1:18101/x")
    mocked.get("http://localhost:18101/y")
    ServiceClient("acme").get("/x")
    ServiceClient("acme").get("http://localhost:18101/y")
    assert len(mocked.calls) == 2


def test_absolute_urls_must_be_https_and_a_service_without_base_url_needs_them(fake, mocked):
    mocked.post("https://oauth2.example.test/token", json={})
    ServiceClient("bare").post("https://oauth2.example.test/token")
    with pytest.raises(InsecureURLError):
        ServiceClient("bare").post("http://oauth2.example.test/token")
    with pytest.raises(InsecureURLError, match="no 'base_url'"):
        ServiceClient("bare").get("/relative")
    assert len(mocked.calls) == 1


def test_unknown_service_is_a_configuration_error_naming_the_setting(fake):
    with pytest.raises(UnknownServiceError, match="INTEGRATIONS_SERVICES"):
        ServiceClient("acmee").get("https://api.acme.test/x")


def test_builtin_services_have_https_base_urls_and_stripe_live_mode_limit(fake):
    from integrations.outbound.resilience import service_config

    assert service_config("stripe").base_url == "https://api.stripe.com"
    assert service_config("stripe").limiter_refill_rate == 100
    assert service_config("sendgrid").base_url == "https://api.sendgrid.com"
    assert service_config("oidc").base_url == ""


def test_retry_schedule_is_exponential_and_capped(fake, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {
        "acme": {**FAST, "retries": 5, "backoff_cap": 5.0, "breaker_fail_max": 10}
    }
    for _ in range(5):
        mocked.get(f"{BASE}/x", status=503)
    mocked.get(f"{BASE}/x", status=200)
    assert ServiceClient("acme").get("/x").status_code == 200
    # jitter=1.0 draws the upper bound of each full-jitter interval: base * 2^(n-1), capped.
    assert fake.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(mocked.calls) == 6


def test_full_jitter_draws_between_zero_and_the_exponential_bound():
    from integrations.outbound.runtime import current

    for retry in range(1, 8):
        bound = min(30.0, 2 ** (retry - 1))
        draws = [
            backoff_delay(retry, base=1.0, cap=30.0, uniform=current().uniform) for _ in range(200)
        ]
        assert all(0.0 <= d <= bound for d in draws)
        assert max(draws) - min(draws) > bound / 4  # really jittered, not a constant


def test_jitter_lower_bound_means_no_wait(fake, mocked):
    fake.jitter = 0.0
    mocked.get(f"{BASE}/x", status=502)
    mocked.get(f"{BASE}/x", status=200)
    ServiceClient("acme").get("/x")
    assert fake.sleeps == [0.0]


def test_retries_exhausted_raise_server_error_with_status_and_request_id(fake, mocked):
    mocked.get(f"{BASE}/x", status=500, headers={"Request-Id": "req_123"})
    with pytest.raises(ServerError) as info:
        ServiceClient("acme").get("/x")
    error = info.value
    assert (error.service, error.method, error.status, error.request_id) == (
        "acme",
        "GET",
        500,
        "req_123",
    )
    assert error.url == f"{BASE}/x"
    assert error.retryable
    assert len(mocked.calls) == 4  # 1 + 3 retries
    assert fake.sleeps == [1.0, 2.0, 4.0]


def test_retry_after_seconds_is_honoured(fake, mocked):
    mocked.get(f"{BASE}/x", status=429, headers={"Retry-After": "7"})
    mocked.get(f"{BASE}/x", status=200)
    ServiceClient("acme").get("/x")
    assert fake.sleeps == [7.0]


def test_retry_after_http_date_is_honoured(fake, mocked):
    when = datetime.fromtimestamp(fake.now + 12, UTC)
    mocked.get(f"{BASE}/x", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    mocked.get(f"{BASE}/x", status=200)
    ServiceClient("acme").get("/x")
    assert fake.sleeps == [12.0]


def test_retry_after_beyond_the_maximum_raises_now_with_the_retry_time(fake, mocked):
    mocked.get(f"{BASE}/x", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitExceeded) as info:
        ServiceClient("acme").get("/x")
    assert len(mocked.calls) == 1
    assert fake.sleeps == []
    assert info.value.status == 429
    assert info.value.retry_at == datetime.fromtimestamp(fake.now + 3600, UTC)


def test_parse_retry_after_both_forms_and_garbage():
    now = 1_700_000_000.0
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("0", now=now) == 0.0
    date = format_datetime(datetime.fromtimestamp(now + 30, UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == 30.0
    past = format_datetime(datetime.fromtimestamp(now - 30, UTC), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None, now=now) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_4xx_is_never_retried(fake, mocked, status):
    mocked.get(f"{BASE}/x", status=status, json={"error": "invalid_grant", "code": "E1"})
    with pytest.raises(ClientError) as info:
        ServiceClient("acme").get("/x")
    assert len(mocked.calls) == 1
    assert fake.sleeps == []
    assert info.value.status == status
    assert info.value.payload == {"error": "invalid_grant", "code": "E1"}
    assert not info.value.retryable


def test_post_without_idempotency_key_is_not_retried(fake, mocked):
    mocked.post(f"{BASE}/charges", status=503)
    with pytest.raises(ServerError):
        ServiceClient("acme").post("/charges", json={"amount": 100})
    assert len(mocked.calls) == 1
    assert "Idempotency-Key" not in mocked.calls[0].request.headers


def test_patch_without_idempotency_key_is_not_retried_on_timeout(fake, mocked):
    mocked.patch(f"{BASE}/things/1", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(Timeout):
        ServiceClient("acme").patch("/things/1", json={})
    assert len(mocked.calls) == 1


def test_post_with_generated_idempotency_key_is_retried_with_the_same_key(fake, mocked):
    mocked.post(f"{BASE}/charges", status=503)
    mocked.post(f"{BASE}/charges", status=502)
    mocked.post(f"{BASE}/charges", status=201)
    response = ServiceClient("acme").post("/charges", json={"amount": 1}, idempotency_key=True)
    assert response.status_code == 201
    keys = {c.request.headers["Idempotency-Key"] for c in mocked.calls}
    assert len(mocked.calls) == 3
    assert len(keys) == 1
    assert len(keys.pop()) >= 32


def test_explicit_idempotency_key_uses_the_service_header(fake, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"acme": {**FAST, "idempotency_header": "X-Idem"}}
    mocked.post(f"{BASE}/charges", body=requests.exceptions.ConnectionError("reset"))
    mocked.post(f"{BASE}/charges", status=200)
    ServiceClient("acme").post("/charges", idempotency_key="order-42")
    assert [c.request.headers["X-Idem"] for c in mocked.calls] == ["order-42", "order-42"]


def test_timeouts_and_connection_errors_are_typed_and_retried_for_get(fake, mocked):
    mocked.get(f"{BASE}/x", body=requests.exceptions.ConnectTimeout("connect"))
    mocked.get(f"{BASE}/x", body=requests.exceptions.ReadTimeout("read"))
    mocked.get(f"{BASE}/x", body=requests.exceptions.ConnectionError("refused"))
    mocked.get(f"{BASE}/x", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(TransportError) as info:
        ServiceClient("acme").get("/x")
    assert type(info.value) is TransportError
    assert len(mocked.calls) == 4
    mocked.get(f"{BASE}/y", body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(Timeout) as timeout_info:
        ServiceClient("acme").get("/y", timeout=0.5)
    assert isinstance(timeout_info.value, TransportError)
    assert isinstance(timeout_info.value.__cause__, requests.exceptions.ReadTimeout)


def test_real_timeout_against_a_silent_local_server(fake, settings):
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    settings.INTEGRATIONS_SERVICES = {
        "acme": {"base_url": f"http://127.0.0.1:{port}", "retries": 0, "read_timeout": 0.2}
    }
    try:
        with pytest.raises(Timeout):
            ServiceClient("acme").get("/never-answers")
    finally:
        server.close()


def test_429_pauses_the_service_for_every_later_call(fake, mocked):
    mocked.post(f"{BASE}/send", status=429, headers={"Retry-After": "3"})
    mocked.get(f"{BASE}/later", status=200)
    with pytest.raises(RateLimitExceeded):
        ServiceClient("acme").post("/send")  # no key: not retried, but the pause stands
    ServiceClient("acme").get("/later")
    assert fake.sleeps == [3.0]


def test_errors_survive_pickling_with_their_context():
    error = ClientError(
        service="acme", method="GET", url=f"{BASE}/x", status=404, payload={"error": "nope"}
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert isinstance(copy, ClientError)
    assert isinstance(copy, IntegrationError)
    assert (copy.status, copy.payload, str(copy)) == (404, {"error": "nope"}, str(error))
