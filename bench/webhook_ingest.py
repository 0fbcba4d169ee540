"""Webhook ingest benchmark: Liaison's receive view vs a bare Django view, in the same run.

    .venv/bin/python bench/webhook_ingest.py [--duration 10] [--rounds 5]

Both run under gunicorn (4 sync workers) on PostgreSQL (its own database, fsync on) and are
loaded by `wrk` (16 connections, 127.0.0.1) replaying pre-signed Stripe events (~3 KB, every
event id unique, signed just before each round). Rounds alternate between the two servers so
background load on the machine hits both alike; the best round of each is reported (the
target), and each round's pair of servers, run back to back, as an informative ratio.

- Liaison: `POST /webhooks/<slug>/` — endpoint from the Redis cache, verify, one INSERT into
  the event log (prepared; its trigger appends the counters' journal row), a real Celery
  enqueue to a Redis broker (no worker consumes during the run).
- bare: `bench/bare_ingest` — `stripe.Webhook.construct_event` + INSERT of the raw body.

Both WSGI entry points set the process up alike (URLconf loaded, then `gc.freeze()`).

Target: Liaison >= 85 % of the bare view's requests/s, p99 <= 1.5x, zero non-2xx.
Processes started here are stopped by PID; every step is bounded in time.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from hashlib import sha256
from pathlib import Path

import psycopg
import redis
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per round (10)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server (5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument("--port", type=int, default=18210, help="Liaison's port; bare is +1")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="liaison_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--cache-db", type=int, default=6, help="Redis DB of the cache (6)")
    parser.add_argument("--broker-db", type=int, default=7, help="Redis DB of the broker (7)")
    parser.add_argument("--max-rate", type=int, default=3000, help="req/s to pre-sign for")
    parser.add_argument(
        "--without-counters",
        action="store_true",
        help="disable the event log's counting triggers (to measure what they cost)",
    )
    return parser.parse_args()


def event_body(event_id: str, created: int) -> bytes:
    """A realistic ~3 KB Stripe event."""
    charge = {
        "id": f"ch_{event_id[4:]}",
        "object": "charge",
        "amount": 4200,
        "currency": "usd",
        "customer": "cus_bench0001",
        "description": "Order ORD-1001",
        "metadata": {"order_reference": "ORD-1001", "notes": "x" * 1500},
        "payment_method_details": {
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}
        },
        "billing_details": {"address": {"city": "Berlin", "country": "DE", "line1": "Str. 1"}},
        "status": "succeeded",
        "paid": True,
        "captured": True,
        "livemode": False,
    }
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {"object": charge},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "charge.succeeded",
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    return body + b" " * max(0, 3072 - len(body))


def write_events(path: Path, *, count: int, threads: int, secret: str, tag: str) -> None:
    now = int(time.time())
    per_thread = count // threads + 1
    for thread in range(threads):
        with open(f"{path}.{thread}", "wb") as handle:
            for n in range(per_thread):
                body = event_body(f"evt_{tag}_{thread}_{n:07d}", now)
                digest = hmac.new(secret.encode(), f"{now}.".encode() + body, sha256).hexdigest()
                handle.write(f"t={now},v1={digest}\t".encode() + body + b"\n")


def wait_http(url: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - 127.0.0.1 only
            return
        except urllib.error.HTTPError:
            return  # it answers (405 for GET is fine)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run_wrk(args: argparse.Namespace, url: str, events: Path) -> dict[str, float]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout=10s",
        "-s",
        str(ROOT / "bench" / "ingest.lua"),
        url,
        "--",
        str(events),
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=args.duration + 120, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)")
        return 2
    secret = f"whsec_bench_{secrets.token_hex(16)}"
    database_url = f"{args.pg}/{args.database}"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
        fsync = admin.execute("SHOW fsync").fetchone()[0]
        sync_commit = admin.execute("SHOW synchronous_commit").fetchone()[0]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bare_event (id bigserial PRIMARY KEY, body bytea NOT NULL, "
            "received_at timestamptz NOT NULL DEFAULT now())"
        )
    broker = redis.Redis.from_url(f"{args.redis}/{args.broker_db}")
    broker.flushdb()
    redis.Redis.from_url(f"{args.redis}/{args.cache_db}").flushdb()

    env = {
        **os.environ,
        "LIAISON_READ_DOT_ENV": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{args.redis}/{args.cache_db}",
        "CELERY_BROKER_URL": f"{args.redis}/{args.broker_db}",
        "LOG_LEVEL": "WARNING",
        "BARE_STRIPE_SECRET": secret,
    }
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True, timeout=300
    )
    subprocess.run(
        [
            *manage,
            "webhook_endpoint",
            "create",
            "--provider",
            "stripe",
            "--slug",
            "bench",
            "--secret",
            secret,
        ],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=60,
        capture_output=True,
    )
    if args.without_counters:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE liaison_webhooks_webhookevent DISABLE TRIGGER USER")
    gunicorn = [GUNICORN, f"--workers={args.workers}", "--worker-class=sync", "--log-level=warning"]
    procs = {
        "liaison": subprocess.Popen(
            [*gunicorn, f"--bind=127.0.0.1:{args.port}", "config.wsgi"], env=env, cwd=ROOT
        ),
        "bare": subprocess.Popen(
            [*gunicorn, f"--bind=127.0.0.1:{args.port + 1}", "bench.bare_ingest.wsgi"],
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.bare_ingest.settings"},
            cwd=ROOT,
        ),
    }
    urls = {
        "liaison": f"http://127.0.0.1:{args.port}/webhooks/bench/",
        "bare": f"http://127.0.0.1:{args.port + 1}/ingest/",
    }
    results: dict[str, list[dict[str, float]]] = {"bare": [], "liaison": []}
    tmp = Path(tempfile.mkdtemp(prefix="webhook_bench_"))
    try:
        for url in urls.values():
            wait_http(url)
        count = args.max_rate * args.duration
        # Warm-up (connections, caches), not counted.
        for name, url in urls.items():
            write_events(
                tmp / "warm", count=2000, threads=args.threads, secret=secret, tag=f"w{name}"
            )
            warm = argparse.Namespace(**{**vars(args), "duration": 5})
            run_wrk(warm, url, tmp / "warm")
        for round_no in range(args.rounds):
            order = ["bare", "liaison"] if round_no % 2 == 0 else ["liaison", "bare"]
            for name in order:
                write_events(
                    tmp / "events",
                    count=count,
                    threads=args.threads,
                    secret=secret,
                    tag=f"r{round_no}{name[0]}",
                )
                result = run_wrk(args, urls[name], tmp / "events")
                results[name].append(result)
                print(
                    f"round {round_no + 1} {name:8s} {result['rps']:8.0f} req/s  "
                    f"p50 {result['p50_us'] / 1000:6.2f} ms  "
                    f"p99 {result['p99_us'] / 1000:6.2f} ms  "
                    f"non-2xx {result['non2xx']}  socket errors {result['socket_errors']}  "
                    f"wrapped {result['wrapped']}",
                    flush=True,
                )
    finally:
        for proc in procs.values():
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)

    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM liaison_webhooks_webhookevent").fetchone()[0]
        bare_rows = conn.execute("SELECT count(*) FROM bare_event").fetchone()[0]
    queued = broker.llen("celery")
    broker.flushdb()

    best = {name: max(rows, key=lambda r: r["rps"]) for name, rows in results.items()}
    # p99 of the round with the best throughput would favour noise; take each side's best p99.
    p99 = {name: min(r["p99_us"] for r in rows) for name, rows in results.items()}
    non2xx = {
        name: sum(r["non2xx"] + r["socket_errors"] for r in rows) for name, rows in results.items()
    }
    rps_ratio = best["liaison"]["rps"] / best["bare"]["rps"]
    p99_ratio = p99["liaison"] / p99["bare"]
    # Each round's two servers ran back to back, under about the same machine state.
    paired = [
        liaison["rps"] / bare["rps"]
        for liaison, bare in zip(results["liaison"], results["bare"], strict=True)
    ]
    print()
    print(
        f"PostgreSQL fsync={fsync} synchronous_commit={sync_commit}; "
        f"gunicorn {args.workers} sync workers; wrk {args.threads} threads / "
        f"{args.connections} connections, {args.duration}s x {args.rounds} rounds each"
    )
    print("Liaison enqueues to a Redis broker with no worker consuming during the run.")
    print(f"{'':10s}{'req/s':>10s}{'p99 ms':>10s}{'non-2xx':>10s}")
    for name in ("bare", "liaison"):
        print(f"{name:10s}{best[name]['rps']:10.0f}{p99[name] / 1000:10.2f}{non2xx[name]:10d}")
    print(f"throughput ratio liaison/bare: {rps_ratio:.1%}  (target >= 85%)")
    print(
        "per-round pairs (informative): "
        + ", ".join(f"{ratio:.0%}" for ratio in paired)
        + f"; median {statistics.median(paired):.1%}"
    )
    print(f"p99 ratio liaison/bare:        {p99_ratio:.2f}x  (target <= 1.5x)")
    print(f"stored events: {stored}, bare rows: {bare_rows}, tasks left queued: {queued}")
    ok = rps_ratio >= 0.85 and p99_ratio <= 1.5 and non2xx["liaison"] == 0 and non2xx["bare"] == 0
    print("TARGET MET" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
