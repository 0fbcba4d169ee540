"""Load without loss: 5,000 signed deliveries at a running server while Celery workers die.

The server is gunicorn on the test database with the real broker; one Celery worker processes
events and is SIGKILLed (with its pool process) and replaced three times during the run; the
test process runs `manage.py webhook_dispatch_due` every second, as beat would. Afterwards
every unique delivery is stored once, every event is processed or ignored, and the Stripe
payment handlers' effects are applied once: one Payment per intent in its final state, one
confirmation email per payment, printed once by the console transport.
"""

from __future__ import annotations

import io
import random
import re
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from celery import current_app
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Count

from integrations.email.models import EmailMessage
from integrations.outbox.tasks import outbox_relay_sweep_task
from integrations.payments.models import Payment
from tests.conftest import stop_process
from tests.reliability.deliveries import (
    LOAD_PROVIDERS,
    Delivery,
    make_signing_endpoint,
    post_all,
    sign_delivery,
    stripe_payment_body,
)
from tests.reliability.servers import (
    kill_hard,
    running,
    service_env,
    start_logged_worker,
    start_web_server,
    wait_for,
)
from webhooks.models import WebhookEvent

Status = WebhookEvent.Status

TOTAL = 5_000
DUPLICATES = TOTAL // 10
PAYMENTS = 300  # each: a payment_failed and a later succeeded event, sent in random order
STRIPE_OTHER = 150  # customer.created events (their handler keeps the Customer row)
WORKER_KILLS = 3
# Short enough that lost publishes and dead workers' claims come back within the test.
GRACE_SECONDS = 30
LEASE_SECONDS = 5
RETRY_SCHEDULE = [1] * 8


class Dispatcher(threading.Thread):
    """Runs `manage.py webhook_dispatch_due` every second (what beat does every minute) and
    queues the outbox relay sweep every other second, as beat does: the sweep runs on a worker
    and sends the emails whose wake-up message a killed worker took with it."""

    def __init__(self) -> None:
        super().__init__(name="dispatch-due", daemon=True)
        self.stop_event = threading.Event()
        self.totals: Counter[str] = Counter()
        self.runs = 0

    def run(self) -> None:
        try:
            while not self.stop_event.wait(1.0):
                out = io.StringIO()
                call_command("webhook_dispatch_due", stdout=out)
                self.runs += 1
                if self.runs % 2 == 0:
                    outbox_relay_sweep_task.delay()
                for name, value in re.findall(r"([a-z ]+): (\d+)", out.getvalue()):
                    self.totals[name.strip()] += int(value)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


def _build_deliveries(base_url: str, rng: random.Random) -> tuple[list[Delivery], dict]:
    targets = {p: make_signing_endpoint(p) for p in LOAD_PROVIDERS}
    unique: list[Delivery] = []
    intents: dict[str, int] = {}  # intent id -> `created` of its succeeded event
    now = int(time.time())
    for n in range(PAYMENTS):
        intent_id = f"pi_rel_{uuid.uuid4().hex[:20]}"
        created = now - 600 + n
        intents[intent_id] = created + 5
        for event_type, at in (
            ("payment_intent.payment_failed", created),
            ("payment_intent.succeeded", created + 5),
        ):
            event_id = f"evt_rel_{uuid.uuid4().hex[:20]}"
            body = stripe_payment_body(
                event_type=event_type,
                event_id=event_id,
                intent_id=intent_id,
                created=at,
                email=f"buyer-{n}@example.test",
            )
            unique.append(sign_delivery(targets["stripe"], base_url, body=body))
    for _ in range(STRIPE_OTHER):
        unique.append(sign_delivery(targets["stripe"], base_url, event_type="customer.created"))
    others = [p for p in LOAD_PROVIDERS if p != "stripe"]
    remaining = TOTAL - DUPLICATES - len(unique)
    for i in range(remaining):
        unique.append(sign_delivery(targets[others[i % len(others)]], base_url))
    # Duplicates are the very same signed requests again (a provider's retry); the whole list
    # is shuffled, so a payment's two events and an original and its copy arrive in any order.
    deliveries = unique + rng.sample(unique, DUPLICATES)
    rng.shuffle(deliveries)
    return deliveries, {"unique": unique, "intents": intents, "targets": targets}


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_five_thousand_deliveries_survive_three_worker_kills(tmp_path: Path, settings, report):
    started = time.monotonic()
    settings.WEBHOOKS_PENDING_GRACE_SECONDS = GRACE_SECONDS
    settings.WEBHOOKS_PROCESSING_LEASE_SECONDS = LEASE_SECONDS
    settings.WEBHOOKS_RETRY_SCHEDULE = RETRY_SCHEDULE
    env = service_env(
        database_name=connection.settings_dict["NAME"],
        CELERY_VISIBILITY_TIMEOUT="5",
        WEBHOOKS_PENDING_GRACE_SECONDS=str(GRACE_SECONDS),
        WEBHOOKS_PROCESSING_LEASE_SECONDS=str(LEASE_SECONDS),
        WEBHOOKS_RETRY_SCHEDULE=",".join(str(s) for s in RETRY_SCHEDULE),
        # A row whose worker was killed mid-send comes back within the test.
        OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    worker_log = tmp_path / "worker.log"
    server = start_web_server(env, log=tmp_path / "server.log")
    previous_eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    current_app.control.purge()  # nothing left over from an earlier run of the broker
    dispatcher = Dispatcher()
    workers = [start_logged_worker(env, log=worker_log)]
    try:
        with running(server):
            deliveries, built = _build_deliveries(server.base_url, random.Random(8))
            unique: list[Delivery] = built["unique"]
            intents: dict[str, int] = built["intents"]
            dispatcher.start()
            kill_at = {TOTAL * k // (WORKER_KILLS + 1) for k in range(1, WORKER_KILLS + 1)}

            def maybe_kill(done: int) -> None:
                if done in kill_at:
                    kill_hard(workers[-1])
                    workers.append(start_logged_worker(env, log=worker_log))

            send_started = time.monotonic()
            results = post_all(deliveries, threads=16, on_done=maybe_kill)
            send_seconds = time.monotonic() - send_started
            statuses = Counter(status for _, status in results)
            # A provider retries what was not acknowledged (none expected, but allowed by the
            # contract: 5xx only when the delivery could not be stored).
            retried = [d for d, status in results if not 200 <= status < 300]
            for _round in range(3):
                if not retried:
                    break
                again = post_all(retried, threads=4)
                retried = [d for d, status in again if not 200 <= status < 300]
            assert not retried, f"deliveries never acknowledged: {len(retried)}"
            assert not [s for s in statuses if 400 <= s < 500], statuses

            expected_keys = {key for d in unique for key in d.keys}

            def all_done() -> bool:
                finished = WebhookEvent.objects.filter(
                    status__in=[Status.PROCESSED, Status.IGNORED]
                ).count()
                queued = EmailMessage.objects.filter(status=EmailMessage.Status.QUEUED).count()
                return finished >= len(expected_keys) and queued == 0

            drained = wait_for(all_done, timeout=180, step=1.0)
    finally:
        dispatcher.stop()
        current_app.conf.task_always_eager = previous_eager
        for worker in workers:
            stop_process(worker)
        current_app.control.purge()
    drain_seconds = time.monotonic() - send_started - send_seconds

    # Every unique delivery stored exactly once.
    stored = list(WebhookEvent.objects.values_list("endpoint_id", "event_id"))
    assert len(stored) == len(set(stored)) == len(expected_keys)
    assert set(stored) == expected_keys
    by_status = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("id")).order_by())
    emails = dict(EmailMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
    assert drained, f"not drained in time: events {by_status}, emails {emails}"
    assert set(by_status) <= {Status.PROCESSED, Status.IGNORED}, by_status
    # The payment_intent events, and customer.created (a Customer row is kept in sync).
    assert by_status.get(Status.PROCESSED) == 2 * PAYMENTS + STRIPE_OTHER

    # Handler effects applied once: one Payment per intent, in its final (newest) state.
    payments = {p.stripe_id: p for p in Payment.objects.all()}
    assert set(payments) == set(intents)
    assert {p.status for p in payments.values()} == {Payment.Status.SUCCEEDED}
    assert all(int(p.last_event_at.timestamp()) == intents[i] for i, p in payments.items())

    # One confirmation email per payment, recorded once (console only: no SendGrid key here).
    confirmations = EmailMessage.objects.filter(purpose_key__endswith=":succeeded")
    assert sorted(confirmations.values_list("purpose_key", flat=True)) == sorted(
        f"payment:{intent}:succeeded" for intent in intents
    )
    assert set(confirmations.values_list("status", flat=True)) == {EmailMessage.Status.CONSOLE}
    failure_notices = EmailMessage.objects.filter(purpose_key__endswith=":payment_failed").count()
    assert failure_notices <= PAYMENTS  # at most one per payment (only when it came first)
    printed = Counter(re.findall(r"\[liaison email #(\d+)\]", worker_log.read_text()))
    sent_ids = {str(pk) for pk in EmailMessage.objects.values_list("pk", flat=True)}
    assert set(printed) == sent_ids
    assert max(printed.values()) == 1, [pk for pk, n in printed.items() if n > 1]

    report(
        "load without loss",
        deliveries_sent=len(deliveries),
        unique_deliveries=len(unique),
        duplicates_sent=DUPLICATES,
        responses=dict(sorted(statuses.items())),
        events_stored=len(stored),
        processed=by_status.get(Status.PROCESSED, 0),
        ignored=by_status.get(Status.IGNORED, 0),
        workers_killed=WORKER_KILLS,
        payments=len(payments),
        confirmation_emails=confirmations.count(),
        failure_notices=failure_notices,
        emails_printed=sum(printed.values()),
        dispatcher_runs=dispatcher.runs,
        redispatched=dict(dispatcher.totals),
        send_seconds=round(send_seconds, 1),
        requests_per_second=round(len(deliveries) / send_seconds),
        drain_seconds=round(drain_seconds, 1),
        total_seconds=round(time.monotonic() - started, 1),
    )
