"""Machinery of the fault campaign (`test_faults_exactly_once.py`): the paced load, the
fault schedule, the SendGrid endpoint keys and reads of the private database."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.reliability.deliveries import Delivery, post
from tests.reliability.servers import ThrowawayPostgres

DATABASE = "liaison_h5_faults"
RATE = 60.0  # deliveries per second: the load lasts about a minute, the faults sit inside it


def sendgrid_keys() -> tuple[str, str]:
    """(public key as base64 DER for the endpoint, private key PEM for the stand-in)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(public).decode(), pem


def query(pg: ThrowawayPostgres, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(pg.url(DATABASE), connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


def endpoint_id(pg: ThrowawayPostgres, slug: str) -> int:
    rows = query(pg, "SELECT id FROM liaison_webhooks_webhookendpoint WHERE slug = %s", (slug,))
    return int(rows[0][0])


class Load:
    """Posts deliveries at RATE from a thread pool; records status and latency of each."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        self.results: list[tuple[Delivery, int, float, float]] = []  # (d, status, at, seconds)
        self.lock = threading.Lock()
        self.started = 0.0

    def run(self) -> None:
        self.started = time.monotonic()

        def paced(index: int, delivery: Delivery) -> None:
            delay = self.started + index / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            status = post(delivery, timeout=30)
            with self.lock:
                self.results.append(
                    (delivery, status, began - self.started, time.monotonic() - began)
                )

        with ThreadPoolExecutor(max_workers=24) as pool:
            list(pool.map(paced, range(len(self.deliveries)), self.deliveries))


class Chaos(threading.Thread):
    """The faults, at fixed seconds after the load started (module docstring)."""

    def __init__(self, load: Load, actions: list[tuple[float, str, Callable[[], None]]]) -> None:
        super().__init__(name="chaos", daemon=True)
        self.load = load
        self.actions = actions
        self.done: list[tuple[str, float, float]] = []  # (fault, started at, lasted)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.load.started:
                time.sleep(0.05)
            for at, name, action in self.actions:
                delay = self.load.started + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                began = time.monotonic()
                action()
                self.done.append(
                    (name, round(began - self.load.started, 1), time.monotonic() - began)
                )
        except BaseException as exc:  # reported by the test, never swallowed
            self.error = exc


def ignore(_value: object) -> None:
    return None


def rate(rows: list[tuple[Delivery, int, float, float]]) -> float:
    """Acknowledged deliveries per second over the window the rows span."""
    ok = [at for _, status, at, _ in rows if 200 <= status < 300]
    if len(ok) < 2:
        return 0.0
    return round(len(ok) / max(max(ok) - min(ok), 0.001), 1)
