"""Redis down: ingestion keeps answering, outbound calls keep their breaker, nothing is lost.

A throwaway redis-server is the server's cache, shared state and Celery broker; the test
SIGKILLs it mid-run. While it is down, signed deliveries are still stored and acknowledged
(the endpoint cache falls back to the database, the publisher's failure leaves events
`pending`), pages answer without a 500, and outbound calls work with the in-process breaker
and limiter (one warning). When Redis is back, the dispatcher re-dispatches the pending events
and a worker processes every one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.db import connection

from integrations.core.exceptions import ServerError, ServiceUnavailable
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import get_guard
from integrations.outbound.resilience import state as state_module
from integrations.outbound.resilience.testing import isolated_state
from tests.conftest import stop_process
from tests.reliability.deliveries import make_signing_endpoint, post_all, sign_delivery
from tests.reliability.servers import (
    ThrowawayRedis,
    manage,
    running,
    service_env,
    start_logged_worker,
    start_web_server,
    wait_for,
)
from tests.reliability.upstream import fake_upstream
from webhooks.models import WebhookEvent

Status = WebhookEvent.Status
PAGES = (
    "/healthz",
    "/metrics",
    "/admin/login/",
    "/accounts/login/",
    "/connections/",
    "/api/connections/",
    "/webhooks/no-such-endpoint/",
)


def _finished() -> int:
    return WebhookEvent.objects.filter(status__in=[Status.PROCESSED, Status.IGNORED]).count()


@pytest.mark.redis
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_ingestion_and_outbound_calls_survive_redis_going_down(
    tmp_path: Path, settings, caplog, monkeypatch, report
):
    started = time.monotonic()
    redis_server = ThrowawayRedis()
    redis_server.start()
    broker = redis_server.url(1)
    env = service_env(
        database_name=connection.settings_dict["NAME"],
        REDIS_URL=redis_server.url(0),
        CELERY_BROKER_URL=broker,
        WEBHOOKS_PENDING_GRACE_SECONDS="1",
    )
    with running(redis_server):
        server = start_web_server(env, log=tmp_path / "server.log")
        with running(server):
            worker = start_logged_worker(env, log=tmp_path / "worker.log", wait=False)
            try:
                targets = [make_signing_endpoint(p) for p in ("stripe", "github", "slack")]
                base = server.base_url
                before = [sign_delivery(targets[i % 3], base) for i in range(15)]
                during = [sign_delivery(targets[i % 3], base) for i in range(45)]

                up = Counter(s for _, s in post_all(before, threads=8))
                assert set(up) == {200}, up
                assert wait_for(lambda: _finished() == len(before), timeout=60)

                redis_server.kill()
                down = Counter(s for _, s in post_all([*during, *before], threads=8))
                assert set(down) == {200}, down  # stored (or already stored) and acknowledged
                forged = requests.post(
                    targets[1].url(base),
                    data=b'{"zen":"x"}',
                    headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
                    timeout=10,
                )
                assert forged.status_code == 400
                pages = {path: requests.get(base + path, timeout=10).status_code for path in PAGES}
                assert 500 not in pages.values(), pages
                assert pages["/healthz"] == 503  # says Redis is down, as a handled answer
                stored_while_down = WebhookEvent.objects.count()
                assert stored_while_down == len(before) + len(during)
                assert _finished() == len(before)  # no broker: nothing processed meanwhile

                outbound = _outbound_calls_without_redis(
                    redis_server.url(2), settings, caplog, monkeypatch
                )

                redis_server.start()  # back, empty: the queued work is in the database
                deadline = time.monotonic() + 60

                def caught_up() -> bool:
                    manage(env, "webhook_dispatch_due")  # what beat runs
                    return _finished() == len(before) + len(during)

                assert wait_for(caught_up, timeout=deadline - time.monotonic(), step=1.0)
            finally:
                stop_process(worker)

    stored = list(WebhookEvent.objects.values_list("endpoint_id", "event_id"))
    assert len(stored) == len(set(stored)) == len(before) + len(during)
    report(
        "redis down",
        stored_before=len(before),
        sent_while_down=sum(down.values()),
        responses_while_down=dict(down),
        pages_while_down=pages,
        events_processed_after=_finished(),
        **outbound,
        seconds=round(time.monotonic() - started, 1),
    )


def _outbound_calls_without_redis(dead: str, settings, caplog, monkeypatch) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """ServiceClient with REDIS_URL pointing at the dead server: in-process fallback."""
    monkeypatch.setattr(state_module, "_warned", False)  # "once per process": this test's once
    caplog.set_level(logging.WARNING, logger="integrations.outbound.resilience")
    with fake_upstream() as upstream:
        # Set through the `settings` fixture BEFORE isolated_state's own override: the fixture
        # restores what it saw when it was first used, so set inside, it would bring the dead
        # REDIS_URL back after isolated_state ended and leak it into later tests.
        settings.INTEGRATIONS_SERVICES = {
            "upstream": {
                "base_url": upstream.base_url,
                "retries": 0,
                "breaker_fail_max": 3,
                "breaker_reset_timeout": 60,
            }
        }
        with isolated_state(redis_url=dead):
            _call_through_the_dead_redis(upstream)
    warnings = [
        r
        for r in caplog.records
        if getattr(r, "event", "") == "integrations.shared_state.redis_unavailable"
    ]
    assert len(warnings) == 1
    return {"outbound_ok": 10, "outbound_fail_fast": 1, "redis_down_warnings": len(warnings)}


def _call_through_the_dead_redis(upstream) -> None:  # type: ignore[no-untyped-def]
    client = ServiceClient("upstream")
    ok = sum(client.get("/ok").status_code == 200 for _ in range(10))
    for _ in range(3):
        with pytest.raises(ServerError):
            client.get("/error")
    # The breaker still works, in this process: open, so calls fail fast.
    with pytest.raises(ServiceUnavailable):
        client.get("/error")
    assert upstream.total("/error") == 3
    assert get_guard("upstream").backend.kind == "memory-fallback"
    assert ok == 10
