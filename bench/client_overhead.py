"""Per-call overhead of `ServiceClient` over a bare `requests.Session`, in one run.

    .venv/bin/python bench/client_overhead.py [--calls 3000] [--redis-url redis://127.0.0.1:6379/0]

Both clients GET a tiny JSON document from a local keep-alive HTTP/1.1 server on 127.0.0.1
(its own process). Batches alternate between the bare session and the client so background
load hits both alike; the figure is the difference of the per-call medians. The client runs
twice: embedded (in-process breaker/limiter/metrics) and with shared state in Redis. Its
attempt log line is formatted and filtered (redaction) into a discarded stream, as in
production minus the terminal.

Targets: <= 0.3 ms embedded, <= 1.0 ms with Redis.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"ok":true}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle + delayed ACK add ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        arrivals = getattr(self.server, "arrivals", None)
        if arrivals is not None and not self.path.startswith("/warmup"):
            arrivals.append(time.time())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve(port_out: Any, stop: Any, results: Any, record: bool) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.arrivals = [] if record else None  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_out.put(server.server_address[1])
    stop.wait()
    server.shutdown()
    if record:
        results.put(list(server.arrivals))  # type: ignore[attr-defined]


class LocalServer:
    """The benchmark server, in its own process (so it does not share the client's GIL).

    With `record=True` it keeps every arrival time; `arrivals()` stops it and returns them.
    """

    def __init__(self, *, record: bool = False) -> None:
        ctx = multiprocessing.get_context("fork")
        self._port: Any = ctx.Queue()
        self._results: Any = ctx.Queue()
        self._stop = ctx.Event()
        self._record = record
        self._process = ctx.Process(
            target=_serve, args=(self._port, self._stop, self._results, record), daemon=True
        )

    def __enter__(self) -> LocalServer:
        self._process.start()
        self.url = f"http://127.0.0.1:{int(self._port.get(timeout=10))}"
        return self

    def arrivals(self) -> list[float]:
        self._stop.set()
        return list(self._results.get(timeout=30)) if self._record else []

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def setup_django(services: dict[str, Any], *, redis_url: str, prefix: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    os.environ["INTEGRATIONS_SERVICES"] = json.dumps(services)
    os.environ["INTEGRATIONS_STATE_PREFIX"] = prefix
    os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()


def _timed_batch(fn: Any, n: int) -> list[float]:
    out = []
    perf = time.perf_counter
    for _ in range(n):
        start = perf()
        fn()
        out.append(perf() - start)
    return out


def measure(url: str, redis_url: str, calls: int, batch: int) -> dict[str, float]:
    import requests
    from django.test import override_settings

    from integrations.outbound.http import ServiceClient
    from integrations.outbound.testing import isolated_state

    bare = requests.Session()
    client = ServiceClient("bench")
    with isolated_state(redis_url=redis_url), override_settings(REDIS_URL=redis_url):
        for _ in range(200):  # warm up connections, caches and Lua script loading
            bare.get(f"{url}/x", timeout=(3.05, 30)).raise_for_status()
            client.get("/x").raise_for_status()
        base: list[float] = []
        mine: list[float] = []
        for _ in range(calls // batch):
            base += _timed_batch(lambda: bare.get(f"{url}/x", timeout=(3.05, 30)).content, batch)
            mine += _timed_batch(lambda: client.get("/x").content, batch)
    base_ms = statistics.median(base) * 1000
    mine_ms = statistics.median(mine) * 1000
    return {"bare_ms": base_ms, "client_ms": mine_ms, "overhead_ms": mine_ms - base_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()

    with LocalServer() as server:
        services = {
            "bench": {
                "base_url": server.url,
                "retries": 0,
                "limiter_capacity": 1_000_000,
                "limiter_refill_rate": 1_000_000,
            }
        }
        setup_django(services, redis_url="", prefix=f"bench:{uuid.uuid4().hex[:8]}")
        sink = logging.StreamHandler(io.StringIO())
        from integrations.core.redaction import RedactingFilter

        sink.addFilter(RedactingFilter())
        sink.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.addHandler(sink)
        root.setLevel(logging.INFO)

        print(f"ServiceClient overhead vs bare requests.Session, {args.calls} GETs each, 127.0.0.1")
        print(f"{'mode':<10} {'bare p50 ms':>12} {'client p50 ms':>14} {'overhead ms':>12}  target")
        for mode, redis_url, target in (
            ("embedded", "", 0.3),
            ("redis", args.redis_url, 1.0),
        ):
            figures = measure(server.url, redis_url, args.calls, args.batch)
            verdict = "ok" if figures["overhead_ms"] <= target else "MISSED"
            print(
                f"{mode:<10} {figures['bare_ms']:>12.3f} {figures['client_ms']:>14.3f} "
                f"{figures['overhead_ms']:>12.3f}  <= {target} ms {verdict}"
            )
            sink.stream.seek(0)
            sink.stream.truncate()


if __name__ == "__main__":
    main()
