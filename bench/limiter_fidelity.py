"""Rate-limiter fidelity: 4 processes share one Redis-backed budget against a local server.

    .venv/bin/python bench/limiter_fidelity.py [--rate 50] [--burst 5] [--seconds 10]
                                               [--processes 4] [--redis-url redis://…]

Each process calls `ServiceClient("fidelity").get(...)` in a tight loop; the shared token
bucket (capacity = burst, refill = rate/s) decides when requests leave. The server (its own
process, 127.0.0.1) records every arrival; we report arrivals per second, the busiest sliding
1-second window and the total within the run.

Targets: no 1-second window above rate + burst; total >= 95 % of rate x seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.client_overhead import LocalServer, setup_django  # noqa: E402


def worker(
    redis_url: str,
    prefix: str,
    services: dict,
    seconds: float,
    ready: Any,
    go: Any,
    start_at: Any,
    out: Any,
) -> None:
    setup_django(services, redis_url=redis_url, prefix=prefix)
    import logging

    logging.disable(logging.INFO)  # the attempt lines are not what is measured here
    from integrations.core.exceptions import RateLimitExceeded
    from integrations.outbound.http import ServiceClient

    # Open the keep-alive connection first (not counted by the server): a connection set up
    # inside the measured run would delay the first arrivals and bunch them into later seconds.
    session = requests.Session()
    session.get(f"{services['fidelity']['base_url']}/warmup", timeout=10).raise_for_status()
    client = ServiceClient("fidelity", session=session)
    ready.put(os.getpid())
    go.wait(120)
    start = start_at.value
    end = start + seconds
    while time.time() < start:
        time.sleep(0.001)
    sent = rejected = 0
    while time.time() < end:
        try:
            client.get("/x")
            sent += 1
        except RateLimitExceeded:
            rejected += 1
    out.put((sent, rejected))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    with LocalServer(record=True) as server:
        services = {
            "fidelity": {
                "base_url": server.url,
                "retries": 0,
                "limiter_capacity": args.burst,
                "limiter_refill_rate": args.rate,
                "limiter_max_wait": 30,
            }
        }
        ready: Any = ctx.Queue()
        go = ctx.Event()
        start_at = ctx.Value("d", 0.0)
        workers = [
            ctx.Process(
                target=worker,
                args=(
                    args.redis_url,
                    prefix,
                    services,
                    args.seconds,
                    ready,
                    go,
                    start_at,
                    results,
                ),
            )
            for _ in range(args.processes)
        ]
        for process in workers:
            process.start()
        for _ in workers:  # every process has set up Django and its client
            ready.get(timeout=120)
        start = start_at.value = time.time() + 0.5
        end = start + args.seconds
        go.set()
        totals = [results.get(timeout=args.seconds + 60) for _ in workers]
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        arrivals = sorted(server.arrivals())
    _cleanup(args.redis_url, prefix)

    inside = [t for t in arrivals if start <= t < end]
    seconds = int(args.seconds)
    per_second = [sum(1 for t in inside if start + i <= t < start + i + 1) for i in range(seconds)]
    busiest = max(
        (sum(1 for u in inside if t <= u < t + 1.0) for t in inside if t + 1.0 <= end), default=0
    )
    allowed = args.rate * args.seconds
    limit = args.rate + args.burst
    print(
        f"limiter fidelity: {args.processes} processes sharing {args.rate:g}/s "
        f"(burst {args.burst}) for {args.seconds:g}s through Redis"
    )
    print(f"arrivals per second:        {per_second}")
    print(
        f"busiest sliding 1-s window: {busiest}  (limit rate + burst = {limit:g}) "
        f"{'ok' if busiest <= limit else 'MISSED'}"
    )
    print(
        f"total in {args.seconds:g}s:             {len(inside)} of {allowed:g} allowed = "
        f"{100 * len(inside) / allowed:.1f}%  (target >= 95%) "
        f"{'ok' if len(inside) >= 0.95 * allowed else 'MISSED'}"
    )
    print(f"per process (sent, rejected): {totals}")


def _cleanup(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


if __name__ == "__main__":
    main()
