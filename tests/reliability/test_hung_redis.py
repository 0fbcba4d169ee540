"""A hung Redis (SIGSTOP: connections open, nothing answered) costs a delivery about a second.

The server's cache, shared state and broker are one private redis-server; the test stops it
with SIGSTOP and posts deliveries one after another. Each must be answered 2xx within 2 s
(the cache's 1 s socket timeout, then the database; a correctness bound with a wide margin,
not a benchmark) and stored. Before the socket timeouts, each delivery hung ~10 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection

from tests.reliability.deliveries import make_signing_endpoint, post, sign_delivery
from tests.reliability.servers import ThrowawayRedis, running, service_env, start_web_server
from webhooks.models import WebhookEvent

BOUND_SECONDS = 2.0
DELIVERIES = 8


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_deliveries_are_answered_within_two_seconds_while_redis_hangs(tmp_path: Path, report):
    redis_server = ThrowawayRedis()
    redis_server.start()
    env = service_env(
        database_name=connection.settings_dict["NAME"],
        REDIS_URL=redis_server.url(0),
        CELERY_BROKER_URL=redis_server.url(1),
        # Every delivery reads the shared cache (no process-local copy in front of it).
        WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS="0",
    )
    with running(redis_server):
        server = start_web_server(env, log=tmp_path / "server.log", workers=1, threads=4)
        with running(server):
            target = make_signing_endpoint("stripe")
            warm = sign_delivery(target, server.base_url)
            assert post(warm) == 200  # the endpoint is in the cache, connections are open
            deliveries = [sign_delivery(target, server.base_url) for _ in range(DELIVERIES)]
            redis_server.freeze()
            try:
                timings = []
                for delivery in deliveries:
                    began = time.monotonic()
                    status = post(delivery, timeout=15)
                    timings.append((status, time.monotonic() - began))
            finally:
                redis_server.thaw()
    stored = set(WebhookEvent.objects.values_list("endpoint_id", "event_id"))
    assert [status for status, _ in timings] == [200] * DELIVERIES
    assert all(seconds < BOUND_SECONDS for _, seconds in timings), timings
    assert {key for d in deliveries for key in d.keys} <= stored
    report(
        "hung redis",
        deliveries=DELIVERIES,
        statuses=sorted({status for status, _ in timings}),
        slowest_seconds=round(max(seconds for _, seconds in timings), 2),
        stored=len(stored),
    )
