"""The shipped production server: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Why these settings (README, "Production serving"; measured by
`tests/reliability/test_slow_clients.py`):

- `gthread` workers with many threads. A sync worker is one request at a time, so two clients
  trickling a body one byte every two seconds stopped ingestion, and gunicorn's `timeout` then
  killed the worker for every legitimate request in it. A gthread worker reads the request
  line and headers only once data has arrived (a silent connection goes back to the poller
  without holding a thread), and the worker's heartbeat runs in its main thread, so a slow
  client holds one thread, never the worker.
- A body deadline (`GUNICORN_BODY_TIMEOUT`, 15 s): a request still running after it has the
  read side of its socket shut, so a body trickled past it ends early and the receive view
  refuses it as incomplete (`400 body_incomplete`, counted) instead of holding a thread for as
  long as the sender likes. Answering is unaffected: the response is still written.
- Workers: with `REDIS_URL`, `WEB_CONCURRENCY` (default 2) processes share breakers, rate
  limiters and login limits through Redis. Without it that state lives in each process, so the
  default is one worker (with all its threads): several would each count their own limits.
- Threads x workers bounds the PostgreSQL connections the web tier holds open
  (`DATABASE_CONN_MAX_AGE`); keep it below the server's `max_connections` minus the Celery
  workers' share, or put a pooler (PgBouncer) in front.

Behind a buffering reverse proxy (nginx's default `proxy_request_buffering on`, with
`client_body_timeout`), slow bodies never reach gunicorn at all; this configuration holds up
without one too. Every value can be changed with the environment variable named beside it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
wsgi_app = "config.wsgi:application"
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", 2 if os.environ.get("REDIS_URL") else 1)
threads = _int("GUNICORN_THREADS", 64)
# Connections one worker keeps (in its poller or its threads) before it stops accepting.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)
# gthread: the heartbeat of the worker's main loop, not a per-request limit. A worker whose
# main loop is silent this long is stuck and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Idle keep-alive connections wait in the poller (no thread) this long for the next request.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (leaks in any dependency stay bounded), staggered.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1_000)
# Request line and headers: gunicorn's defaults, stated (providers send small headers).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Off by default: gunicorn's access log bypasses the redacting filter, and the first request of
# a password-reset link carries its token in the path.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# Trust X-Forwarded-* only from these proxy addresses (gunicorn's default: 127.0.0.1).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

BODY_TIMEOUT = _float("GUNICORN_BODY_TIMEOUT", 15.0)


class BodyDeadlines:
    """Shuts the read side of a request's socket once it has run past `seconds`.

    One watchdog thread per worker process; `pre_request` registers a request, `post_request`
    removes it. Shutting the read side wakes a thread blocked reading a trickled body (the read
    ends short); the response can still be written.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._due: dict[int, tuple[float, socket.socket]] = {}
        self.cut = 0

    def start(self) -> None:
        threading.Thread(target=self._watch, name="body-deadlines", daemon=True).start()

    def add(self, request: Any) -> None:
        sock = getattr(getattr(request, "unreader", None), "sock", None)
        if isinstance(sock, socket.socket):
            with self._lock:
                self._due[id(request)] = (time.monotonic() + self.seconds, sock)

    def remove(self, request: Any) -> None:
        with self._lock:
            self._due.pop(id(request), None)

    def _watch(self) -> None:
        step = min(1.0, self.seconds / 4)
        while True:
            time.sleep(step)
            now = time.monotonic()
            with self._lock:
                late = [key for key, (due, _) in self._due.items() if due <= now]
                socks = [self._due.pop(key)[1] for key in late]
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)
                self.cut += 1


_deadlines = BodyDeadlines(BODY_TIMEOUT)


def post_worker_init(worker: Any) -> None:
    if BODY_TIMEOUT > 0:
        _deadlines.start()
    if not os.environ.get("REDIS_URL") and workers > 1:
        worker.log.warning(
            "REDIS_URL is not set: breakers, rate limiters and login limits are per worker "
            "process (%s workers); set REDIS_URL or WEB_CONCURRENCY=1",
            workers,
        )


def pre_request(worker: Any, req: Any) -> None:
    if BODY_TIMEOUT > 0:
        _deadlines.add(req)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    if BODY_TIMEOUT > 0:
        _deadlines.remove(req)
