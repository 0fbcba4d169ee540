"""Events processed per second by ONE Celery worker process, and CPU per event.

    .venv/bin/python bench/processing_throughput.py [--events 2000]

On PostgreSQL (its own database). A backlog of stored events is published to a Redis broker
and consumed by one real worker (`celery worker --pool=solo`, a single process):

- (a) `payment_intent.succeeded` (Stripe samples, every PaymentIntent distinct): the
  handlers record the payment and its confirmation email;
- (b) an event type no handler wants (marked `ignored`).

Printed per scenario: events/s, CPU ms per event — the worker process (utime+stime from
/proc/<pid>/stat) plus its PostgreSQL backend (found by application_name, /proc of the
backend pid; the server runs on this host) — and SQL statements per event (counted inside
the worker by a `connection.execute_wrapper`, `bench/worker_stats.py`). A warm-up batch runs
first and is not counted.

Targets: <= 3 ms CPU per payment event, <= 1 ms per ignored event.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
APP_NAME = "liaison_bench_worker"
TICK = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="per scenario (2000)")
    parser.add_argument("--batch", type=int, default=50, help="events per message (50)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="liaison_h4_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="cache (its DB)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/8", help="broker (its DB)")
    return parser.parse_args()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> int:
    args = parse_args()
    import psycopg
    import redis
    from cryptography.fernet import Fernet

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    database_url = f"{args.pg}/{args.database}"
    env = {
        **os.environ,
        "LIAISON_READ_DOT_ENV": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis,
        "CELERY_BROKER_URL": args.broker,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    broker = redis.Redis.from_url(args.broker)
    broker.flushdb()

    from django.db.models import Count

    from webhooks.models import WebhookEndpoint, WebhookEvent
    from webhooks.providers import get_provider
    from webhooks.tasks import webhook_events_process_task

    endpoint = WebhookEndpoint.objects.create(provider="stripe", slug="throughput")
    stripe = get_provider("stripe")

    def backlog(kind: str, count: int) -> list[int]:
        from django.utils import timezone

        now = timezone.now()
        rows = []
        for n in range(count):
            event_id = f"evt_{kind}_{n:07d}_{secrets.token_hex(4)}"
            if kind == "ignored":
                body = (
                    f'{{"id":"{event_id}","object":"event","type":"liaison.bench.unhandled",'
                    f'"data":{{"object":{{"id":"x_{n}"}}}}}}'
                ).encode()
                event_type = "liaison.bench.unhandled"
            else:
                body = stripe.sample_body("payment_intent.succeeded", event_id=event_id)
                event_type = "payment_intent.succeeded"
            rows.append(
                WebhookEvent(
                    endpoint=endpoint,
                    event_id=event_id,
                    event_type=event_type,
                    body=body,
                    headers={"content-type": "application/json"},
                    received_at=now,
                    next_attempt_at=now,
                )
            )
        created = WebhookEvent.objects.bulk_create(rows, batch_size=1000)
        return [event.pk for event in created]

    stats = Path(tempfile.mkdtemp(prefix="throughput_")) / "statements"
    worker = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            "celery",
            "--include=bench.worker_stats",
        ],
        env={
            **env,
            "DATABASE_URL": f"{database_url}?application_name={APP_NAME}",
            "BENCH_STATS_FILE": str(stats),
        },
        cwd=ROOT,
    )

    def publish(pks: list[int]) -> None:
        for start in range(0, len(pks), args.batch):
            webhook_events_process_task.delay(pks[start : start + args.batch])

    class BackendCpu:
        """CPU of the worker's backends over a scenario, sampled while it runs (a backend
        that starts during the run counts from zero; Celery may reconnect between tasks)."""

        def __init__(self) -> None:
            self.first: dict[int, float] = {}
            self.last: dict[int, float] = {}
            self.sample(start=True)

        def sample(self, *, start: bool = False) -> None:
            for pid in backend_pids():
                try:
                    value = cpu_seconds(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                self.first.setdefault(pid, value if start else 0.0)
                self.last[pid] = value

        def seconds(self) -> float:
            self.sample()
            return sum(self.last[pid] - self.first[pid] for pid in self.last)

    tracker: list[BackendCpu] = []

    def wait_done(pks: list[int], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if tracker:
                tracker[-1].sample()
            left = WebhookEvent.objects.filter(
                pk__in=pks, status__in=["pending", "processing"]
            ).count()
            if not left:
                return
            time.sleep(0.05)
        raise RuntimeError("the worker did not finish the backlog in time")

    from django.db import connection

    def backend_pids() -> list[int]:
        """The worker's PostgreSQL backends: every backend of the bench database but ours."""
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            ours = cursor.fetchone()[0]
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [args.database, ours],
            )
            return [row[0] for row in cursor.fetchall()]

    def drained(timeout: float = 300) -> None:
        """Wait until the queue is empty and the worker has stopped sending statements (the
        follow-up work a scenario queues, e.g. confirmation emails, is done)."""
        deadline = time.monotonic() + timeout
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_count = statements()
            if tracker:
                tracker[-1].sample()
            if broker.llen("celery") == 0 and now_count == last:
                if time.monotonic() - quiet_since > 1.5:
                    return
            else:
                quiet_since = time.monotonic()
            last = now_count
            time.sleep(0.2)

    def statements() -> int:
        return int(stats.read_text()) if stats.exists() else 0

    results = []
    follow_ups = []
    try:
        warm = backlog("payment", 100) + backlog("ignored", 100)
        publish(warm)
        wait_done(warm, timeout=180)
        drained()
        for kind in ("payment", "ignored"):
            pks = backlog(kind, args.events)
            tracker.append(BackendCpu())
            cpu_before, sql_before = cpu_seconds(worker.pid), statements()
            started = time.monotonic()
            publish(pks)
            wait_done(pks)
            wall = time.monotonic() - started
            time.sleep(0.3)  # the last task's statement count reaches the file
            worker_cpu = cpu_seconds(worker.pid) - cpu_before
            db_cpu = tracker[-1].seconds()
            done = WebhookEvent.objects.filter(pk__in=pks)
            outcome = dict(
                done.order_by()
                .values_list("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            )
            results.append(
                (kind, len(pks), wall, worker_cpu, db_cpu, statements() - sql_before, outcome)
            )
            # The work the events queued (the confirmation emails), measured on its own.
            cpu_before, sql_before = cpu_seconds(worker.pid), statements()
            tracker.append(BackendCpu())
            started = time.monotonic()
            drained()
            follow_wall = max(0.0, time.monotonic() - started - 1.5)
            follow_ups.append(
                (
                    kind,
                    follow_wall,
                    cpu_seconds(worker.pid) - cpu_before,
                    tracker[-1].seconds(),
                    statements() - sql_before,
                )
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        broker.flushdb()

    print()
    print("one Celery worker process (--pool=solo), PostgreSQL, batches of", args.batch)
    print(
        f"{'scenario':10s}{'events':>8s}{'events/s':>10s}{'worker ms':>11s}{'db ms':>8s}"
        f"{'CPU ms/ev':>11s}{'stmts/ev':>10s}  outcome"
    )
    ok = True
    for kind, count, wall, worker_cpu, db_cpu, sql, outcome in results:
        per_event = (worker_cpu + db_cpu) * 1000 / count
        target = 3.0 if kind == "payment" else 1.0
        ok &= per_event <= target
        print(
            f"{kind:10s}{count:8d}{count / wall:10.0f}{worker_cpu * 1000 / count:11.2f}"
            f"{db_cpu * 1000 / count:8.2f}{per_event:11.2f}{sql / count:10.2f}  {outcome}"
            f"  (target <= {target} ms)"
        )
    print("follow-up work the events queued (processed after them, not counted above):")
    for (kind, count, *_), (_, wall, worker_cpu, db_cpu, sql) in zip(
        results, follow_ups, strict=True
    ):
        print(
            f"  {kind:10s} {wall:6.1f} s, CPU {(worker_cpu + db_cpu) * 1000 / count:.2f} ms "
            f"and {sql / count:.2f} statements per originating event"
        )
    print("TARGET MET" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
