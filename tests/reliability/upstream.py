"""A fake upstream HTTP service on 127.0.0.1 that misbehaves on demand.

Paths choose the fault: `/flaky` (500 while `failing`, else 200), `/error` (always 500),
`/limited` (429 with `Retry-After` on the first arrival of each idempotency key, then 200),
`/slow` (answers after `slow_seconds`), `/reset` (the connection is reset without a reply),
anything else 200. Every arrival is counted per (method, path, idempotency key), so a test can
prove what was (not) repeated.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDEMPOTENCY_HEADER = "Idempotency-Key"


class FakeUpstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)  # port 0: the OS picks a free one
        self.lock = threading.Lock()
        self.arrivals: Counter[tuple[str, str, str]] = Counter()
        self.failing = True
        self.retry_after = "7"
        self.slow_seconds = 1.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, method: str, path: str, key: str = "-") -> int:
        with self.lock:
            return self.arrivals[(method, path, key)]

    def total(self, path: str) -> int:
        with self.lock:
            return sum(n for (_, p, _), n in self.arrivals.items() if p == path)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """A reset connection is the point of `/reset`: nothing to report."""


class _Handler(BaseHTTPRequestHandler):
    server: FakeUpstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the arrivals counter is the record."""

    def do_GET(self) -> None:
        self._arrive()

    def do_POST(self) -> None:
        self._arrive()

    def _arrive(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        key = self.headers.get(IDEMPOTENCY_HEADER) or "-"
        path = self.path.split("?")[0]
        upstream = self.server
        with upstream.lock:
            upstream.arrivals[(self.command, path, key)] += 1
            seen = upstream.arrivals[(self.command, path, key)]
        if path == "/reset":
            # RST instead of FIN: the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if path == "/slow":
            time.sleep(upstream.slow_seconds)
            self._reply(200)
        elif path == "/error" or (path == "/flaky" and upstream.failing):
            self._reply(500)
        elif path == "/limited" and seen == 1:
            self._reply(429, {"Retry-After": upstream.retry_after})
        else:
            self._reply(200)

    def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"status": status}).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client gave up (read timeout)


@contextmanager
def fake_upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    thread = threading.Thread(target=server.serve_forever, name="fake-upstream", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
