"""Slow clients do not stop ingestion under the shipped server configuration (issue 18, item 5).

gunicorn runs with `config/gunicorn.conf.py` as shipped (only the bind address differs; the
body deadline is shortened so the test sees it act within its run). 50 attackers each open a
connection to the webhook URL, declare `Content-Length: 100000` and trickle one byte every two
seconds, reconnecting whenever the server cuts them off. Meanwhile legitimate signed Stripe
deliveries are posted one after another from four threads: every one must get a 2xx within
2 s. The figures (count, p50, p99, max, attacker connections and cut-offs) are reported.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.reliability.deliveries import make_signing_endpoint, sign_delivery
from tests.reliability.servers import running, service_env, start_shipped_server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SLOW_CLIENTS = 50
DECLARED = 100_000
TRICKLE_SECONDS = 2.0
RUN_SECONDS = 20.0
LEGIT_THREADS = 4
LEGIT_TIMEOUT = 2.0
BODY_DEADLINE = "8"


class SlowClient(threading.Thread):
    """One attacker: a trickled body, again and again until told to stop."""

    def __init__(self, port: int, path: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.stop_event = port, path, stop
        self.connections = 0
        self.cut_off = 0  # the server ended the connection before the body was sent
        self.bytes_sent = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    self.connections += 1
                    sock.sendall(
                        f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/json\r\n"
                        f"Content-Length: {DECLARED}\r\n\r\n".encode()
                    )
                    self._trickle(sock)
            except OSError:
                self.cut_off += 1
                self.stop_event.wait(0.2)

    def _trickle(self, sock: socket.socket) -> None:
        sock.settimeout(TRICKLE_SECONDS)
        while not self.stop_event.is_set():
            try:
                if sock.recv(1024) == b"":  # closed by the server
                    self.cut_off += 1
                    return
                self.cut_off += 1  # answered (e.g. 400 body_incomplete) before the body ended
                return
            except TimeoutError:
                pass
            sock.sendall(b" ")
            self.bytes_sent += 1


def test_legitimate_deliveries_keep_answering_while_50_clients_trickle_bodies(
    tmp_path: Path, report
):
    started = time.monotonic()
    target = make_signing_endpoint("stripe")
    env = service_env(database_name=connection.settings_dict["NAME"])
    server = start_shipped_server(
        env, log=tmp_path / "server.log", GUNICORN_BODY_TIMEOUT=BODY_DEADLINE
    )
    stop = threading.Event()
    attackers = [
        SlowClient(server.port, f"/webhooks/{target.slug}/", stop) for _ in range(SLOW_CLIENTS)
    ]
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def legit_sender() -> None:
        session = requests.Session()
        while not stop.is_set():
            delivery = sign_delivery(target, server.base_url)
            began = time.monotonic()
            try:
                status = session.post(
                    delivery.url,
                    data=delivery.body,
                    headers=delivery.headers,
                    timeout=LEGIT_TIMEOUT,
                ).status_code
            except requests.RequestException:
                status = 0
            with lock:
                latencies.append(time.monotonic() - began)
                statuses.append(status)
            stop.wait(0.05)

    with running(server):
        for attacker in attackers:
            attacker.start()
        time.sleep(TRICKLE_SECONDS + 1)  # every attacker connected and trickling
        connected = sum(1 for a in attackers if a.connections)
        with ThreadPoolExecutor(max_workers=LEGIT_THREADS) as pool:
            for _ in range(LEGIT_THREADS):
                pool.submit(legit_sender)
            stop.wait(RUN_SECONDS)
            stop.set()
        for attacker in attackers:
            attacker.join(timeout=TRICKLE_SECONDS + 6)

    ordered = sorted(latencies)
    ok = [s for s in statuses if 200 <= s < 300]
    slow = [t for t in latencies if t > LEGIT_TIMEOUT]
    report(
        "slow clients",
        slow_clients=SLOW_CLIENTS,
        slow_clients_connected_at_start=connected,
        attacker_connections=sum(a.connections for a in attackers),
        attacker_cut_off=sum(a.cut_off for a in attackers),
        legit_deliveries=len(statuses),
        legit_2xx=len(ok),
        p50_ms=round(statistics.median(ordered) * 1000, 1),
        p99_ms=round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        max_ms=round(ordered[-1] * 1000, 1),
        seconds=round(time.monotonic() - started, 1),
    )
    assert connected == SLOW_CLIENTS
    assert len(statuses) >= 50
    assert len(ok) == len(statuses), sorted(set(statuses))
    assert not slow, f"{len(slow)} deliveries took longer than {LEGIT_TIMEOUT}s"
    assert not any(a.is_alive() for a in attackers)
