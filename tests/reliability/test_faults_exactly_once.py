"""Fault campaign: 3,000 Stripe payments with confirmation emails while everything breaks.

Private PostgreSQL and two private Redis servers (cache and shared state; broker) on free
ports, gunicorn, two Celery workers, beat, and a SendGrid stand-in on loopback that counts
sends per message and posts SendGrid's signed `processed` events back. 3,000 signed
`payment_intent.succeeded` deliveries (Stripe's published event shape, one intent each) plus
5 % provider retries arrive at a steady rate; during the load, in this order:

1. every Celery worker SIGKILLed while a send SendGrid accepted waits for its 202;
2. a gunicorn worker SIGKILLed;
3. both Redis servers `kill -9` and restarted (the broker's queue is wiped);
4. PostgreSQL stopped in immediate mode (a crash) and restarted;
5. the broker paused (`CLIENT PAUSE`, 5 s);
6. the cache Redis hung (SIGSTOP, 4 s, then SIGCONT);
7. every Celery worker SIGKILLed again, mid-send, as in 1.

A delivery not answered 2xx is posted again afterwards, as a provider retries. The test then
waits for the system to drain and asserts: no acknowledged event lost, no effect applied
twice, every confirmation email sent exactly once as counted by the stand-in, nothing left
queued, pending or sending, no 500. Its figures are printed (`-s`, and the run's summary).
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import stop_process
from tests.reliability.campaign import (
    DATABASE,
    Chaos,
    Load,
    endpoint_id,
    ignore,
    query,
    rate,
    sendgrid_keys,
)
from tests.reliability.deliveries import (
    Delivery,
    SigningEndpoint,
    post,
    sign_delivery,
    stripe_payment_body,
)
from tests.reliability.sendgrid_standin import SendGridStandIn, sendgrid_standin
from tests.reliability.servers import (
    ThrowawayPostgres,
    ThrowawayRedis,
    WebServer,
    kill_hard,
    kill_one_web_worker,
    manage,
    service_env,
    start_beat,
    start_logged_worker,
    start_web_server,
    wait_for,
)
from tests.webhooks.factories import fake_secret
from webhooks.providers.base import EndpointSecrets

PAYMENTS = 3_000
RETRIES = PAYMENTS // 20  # the same signed request again (a provider's retry)
WORKERS = 2
TIMERS = {
    # Short, so a dead worker's claims and lost messages come back within the test.
    "WEBHOOKS_PENDING_GRACE_SECONDS": "8",
    "WEBHOOKS_PROCESSING_LEASE_SECONDS": "10",
    "WEBHOOKS_RETRY_SCHEDULE": "1,2,3,5,5,5,5,5,5,5",
    "WEBHOOKS_DISPATCH_INTERVAL_SECONDS": "2",
    "OUTBOX_LEASE_SECONDS": "10",
    "OUTBOX_RELAY_INTERVAL_SECONDS": "2",
    "OUTBOX_RETRY_SCHEDULE": "1,2,3,5,5,5,5,5,5,5",
    "CELERY_VISIBILITY_TIMEOUT": "20",
    # SENDGRID_PROCESSED_WAIT_SECONDS keeps its default (300 s): a send interrupted early
    # in the run waits for its `processed` event behind the whole backlog (measured: > 60 s).
}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery_worker
def test_three_thousand_payments_email_once_through_every_fault(tmp_path: Path, report):
    started = time.monotonic()
    # Each server picks its free port once the previous one is listening.
    pg = ThrowawayPostgres(durable_commits=True)  # a crash must not lose acknowledged commits
    state_redis = broker_redis = None
    processes: list[Any] = []
    try:
        pg.init()
        pg.start()
        pg.create_database(DATABASE)
        state_redis = ThrowawayRedis()
        state_redis.start()
        broker_redis = ThrowawayRedis()
        broker_redis.start()
        with sendgrid_standin() as sendgrid:
            env = service_env(
                database_name=DATABASE,
                DATABASE_URL=pg.url(DATABASE),
                REDIS_URL=state_redis.url(0),
                CELERY_BROKER_URL=broker_redis.url(0),
                SENDGRID_API_KEY="SG." + secrets.token_urlsafe(16),
                INTEGRATIONS_SERVICES=json.dumps(
                    {"sendgrid": {"base_url": sendgrid.base_url, "read_timeout": 10.0}}
                ),
                **TIMERS,
            )
            stripe = _prepare(pg, env, sendgrid)
            server = start_web_server(env, log=tmp_path / "server.log", workers=2, threads=8)
            processes.append(server)
            sendgrid.webhook_url = f"{server.base_url}/webhooks/fault-sendgrid/"
            workers = [
                start_logged_worker(env, log=tmp_path / "worker.log", wait=False)
                for _ in range(WORKERS)
            ]
            processes.append(workers)
            beat = start_beat(env, log=tmp_path / "beat.log", schedule=tmp_path / "beat-schedule")
            processes.append(beat)
            figures = _run_campaign(
                pg, env, tmp_path, server, workers, state_redis, broker_redis, sendgrid, stripe
            )  # fmt: skip
    finally:
        for item in processes:
            for proc in item if isinstance(item, list) else [item]:
                if isinstance(proc, WebServer):
                    proc.stop()
                else:
                    stop_process(proc)
        for redis_server in (state_redis, broker_redis):
            if redis_server is not None:
                redis_server.stop()
        pg.destroy()
    report("faults exactly once", **figures, total_seconds=round(time.monotonic() - started, 1))


def _prepare(
    pg: ThrowawayPostgres, env: dict[str, str], sendgrid: SendGridStandIn
) -> SigningEndpoint:
    manage(env, "migrate", "--noinput")
    secret = fake_secret()
    manage(env, "webhook_endpoint", "create", "--provider", "stripe", "--slug", "fault-stripe",
           "--secret", secret)  # fmt: skip
    public, private_pem = sendgrid_keys()
    manage(env, "webhook_endpoint", "create", "--provider", "sendgrid", "--slug",
           "fault-sendgrid", "--public-key", public)  # fmt: skip
    sendgrid.secrets = EndpointSecrets(public_key=public, options={"test_private_key": private_pem})
    return SigningEndpoint("stripe", "fault-stripe", endpoint_id(pg, "fault-stripe"), secret)


def _deliveries(stripe: SigningEndpoint, base_url: str) -> list[Delivery]:
    now = int(time.time())
    unique = [
        sign_delivery(
            stripe,
            base_url,
            body=stripe_payment_body(
                event_type="payment_intent.succeeded",
                event_id=f"evt_fault_{uuid.uuid4().hex[:20]}",
                intent_id=f"pi_fault_{n:05d}_{uuid.uuid4().hex[:8]}",
                created=now - 60,
                email=f"buyer-{n}@example.test",
            ),
        )
        for n in range(PAYMENTS)
    ]
    # A provider's retries of deliveries it already sent, spread over the run.
    step = len(unique) // RETRIES
    mixed: list[Delivery] = []
    for index, delivery in enumerate(unique):
        mixed.append(delivery)
        if index % step == step - 1 and index >= step:
            mixed.append(unique[index - step])
    return mixed


def _run_campaign(
    pg: ThrowawayPostgres,
    env: dict[str, str],
    tmp_path: Path,
    server: WebServer,
    workers: list[Any],
    state_redis: ThrowawayRedis,
    broker_redis: ThrowawayRedis,
    sendgrid: SendGridStandIn,
    stripe: SigningEndpoint,
) -> dict[str, object]:
    deliveries = _deliveries(stripe, server.base_url)
    unique_keys = {key for d in deliveries for key in d.keys}
    load = Load(deliveries)

    kills_mid_send: list[bool] = []

    def kill_workers_mid_send() -> None:
        sendgrid.hold_next()
        # A send SendGrid accepted is waiting for its 202 (False: killed without one).
        kills_mid_send.append(sendgrid.held.wait(timeout=20))
        for worker in list(workers):
            kill_hard(worker)
            workers.remove(worker)
        for _ in range(WORKERS):
            workers.append(start_logged_worker(env, log=tmp_path / "worker.log", wait=False))

    def redis_kill_and_restart() -> None:
        state_redis.kill()
        broker_redis.kill()
        time.sleep(2)
        state_redis.start()
        broker_redis.start()

    def postgres_crash_and_restart() -> None:
        pg.stop()
        time.sleep(3)
        pg.start()

    def broker_pause() -> None:
        broker_redis.pause_clients(5)
        time.sleep(5)

    def redis_hang() -> None:
        state_redis.freeze()
        time.sleep(4)
        state_redis.thaw()

    chaos = Chaos(
        load,
        [
            (8, "celery workers SIGKILL mid-send", kill_workers_mid_send),
            (14, "gunicorn worker SIGKILL", lambda: ignore(kill_one_web_worker(server))),
            (19, "redis kill -9 and restart", redis_kill_and_restart),
            (26, "postgres immediate stop and restart", postgres_crash_and_restart),
            (34, "broker pause 5 s", broker_pause),
            (42, "redis SIGSTOP 4 s", redis_hang),
            (49, "celery workers SIGKILL mid-send", kill_workers_mid_send),
        ],
    )
    chaos.start()
    load.run()
    chaos.join(timeout=120)
    assert chaos.error is None, f"a fault could not be injected: {chaos.error!r}"
    load_seconds = time.monotonic() - load.started
    statuses = Counter(status for _, status, _, _ in load.results)

    # The provider retries what was not acknowledged.
    unacked = [d for d, status, _, _ in load.results if not 200 <= status < 300]
    retried = len(unacked)
    for _round in range(6):
        if not unacked:
            break
        time.sleep(2)
        again = [(d, post(d, timeout=30)) for d in unacked]
        statuses.update(status for _, status in again)
        unacked = [d for d, status in again if not 200 <= status < 300]
    assert not unacked, f"deliveries never acknowledged: {len(unacked)}"
    drain_started = time.monotonic()

    def drained() -> bool:
        try:
            open_events = query(
                pg,
                "SELECT count(*) FROM liaison_webhooks_webhookevent "
                "WHERE status NOT IN ('processed', 'ignored')",
            )[0][0]
            open_emails = query(
                pg,
                "SELECT count(*) FROM liaison_email_emailmessage "
                "WHERE status IN ('queued', 'sending')",
            )[0][0]
            open_outbox = query(
                pg, "SELECT count(*) FROM liaison_outbox_outboxitem WHERE status <> 'done'"
            )[0][0]
            emails = query(pg, "SELECT count(*) FROM liaison_email_emailmessage")[0][0]
        except psycopg.Error:
            return False
        return (
            open_events == 0
            and open_emails == 0
            and open_outbox == 0
            and emails == PAYMENTS
            and sendgrid.pending_events() == 0
        )

    is_drained = wait_for(drained, timeout=420, step=1.0)
    drain_seconds = time.monotonic() - drain_started
    figures = _check(pg, sendgrid, unique_keys, statuses, is_drained)
    calm = [r for r in load.results if r[2] < 8]
    faulted = [r for r in load.results if 8 <= r[2] < 56]
    latencies = sorted(seconds for _, status, _, seconds in load.results if 200 <= status < 300)
    return {
        **figures,
        "deliveries_sent": len(deliveries),
        "responses": dict(sorted(statuses.items())),
        "retried": retried,
        "faults": [f"{name}@{at}s" for name, at, _ in chaos.done],
        "kills_while_sendgrid_had_an_unanswered_send": sum(kills_mid_send),
        "load_seconds": round(load_seconds, 1),
        "drain_seconds": round(drain_seconds, 1),
        "req_per_s_calm": rate(calm),
        "req_per_s_faulted": rate(faulted),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))]) if latencies else None,
        "median_ms": round(1000 * statistics.median(latencies)) if latencies else None,
        "event_posts_refused": sendgrid.event_posts_refused,
    }


def _check(
    pg: ThrowawayPostgres,
    sendgrid: SendGridStandIn,
    unique_keys: set[tuple[int, str]],
    statuses: Counter[int],
    is_drained: bool,
) -> dict[str, object]:
    stored = query(pg, "SELECT endpoint_id, event_id FROM liaison_webhooks_webhookevent")
    stored_keys = {(int(endpoint), str(event)) for endpoint, event in stored}
    lost = len(unique_keys - stored_keys)
    events = dict(
        query(pg, "SELECT status, count(*) FROM liaison_webhooks_webhookevent GROUP BY status")
    )
    emails = dict(
        query(pg, "SELECT status, count(*) FROM liaison_email_emailmessage GROUP BY status")
    )
    outbox = dict(
        query(pg, "SELECT status, count(*) FROM liaison_outbox_outboxitem GROUP BY status")
    )
    payments = query(pg, "SELECT stripe_id, status FROM liaison_payments_payment")
    message_ids = {
        str(pk)
        for (pk,) in query(
            pg,
            "SELECT id FROM liaison_email_emailmessage WHERE purpose_key LIKE %s",
            ("payment:%:succeeded",),
        )
    }
    sends = dict(sendgrid.sends)
    unsent = sorted(m for m in message_ids if sends.get(m, 0) == 0)
    double_sent = sorted(m for m in message_ids if sends.get(m, 0) > 1)
    stray = sorted(m for m in sends if m not in message_ids)
    double_applied = (len(stored) - len(stored_keys)) + (
        len(payments) - len({p for p, _ in payments})
    )
    figures: dict[str, object] = {
        "events_stored": len(stored_keys),
        "events": events,
        "payments": len(payments),
        "emails": emails,
        "outbox": outbox,
        "sent": sum(sends.values()),
        "responses_2xx": sum(n for s, n in statuses.items() if 200 <= s < 300),
        "lost": lost,
        "double_applied": double_applied,
        "unsent": len(unsent),
        "double_sent": len(double_sent),
        "processed_events_posted": sendgrid.events_posted,
    }
    print(f"fault campaign figures: {figures}")
    assert is_drained, f"not drained: {figures}"
    assert lost == 0, figures
    assert double_applied == 0, figures
    assert 500 not in statuses, statuses
    assert set(statuses) <= {0, 200, 503}, statuses
    assert len(payments) == PAYMENTS, figures
    assert {status for _, status in payments} == {"succeeded"}, figures
    assert len(message_ids) == PAYMENTS, figures
    assert not stray, stray[:10]
    assert not unsent, (len(unsent), unsent[:10])
    assert not double_sent, (len(double_sent), double_sent[:10])
    assert set(events) == {"processed"}, events
    assert set(outbox) == {"done"}, outbox
    return figures
