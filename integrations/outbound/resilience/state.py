"""Where breaker, limiter and metrics state lives: Redis (shared by every process) or memory.

`get_backend()` returns the backend for the current settings: a `FallbackBackend` over Redis
when `REDIS_URL` is set, a `MemoryBackend` otherwise. When Redis stops answering, the fallback
backend switches to in-process state, logs ONE warning per process, and tries Redis again after
`INTEGRATIONS_REDIS_RETRY_SECONDS`: the breaker and the limiter keep working, per process, and
are never silently switched off.

The hot path costs two Redis round trips per attempt: one Lua script reads the breaker state and
takes a limiter token (also counting rate-limit waits), one records the outcome and the
metrics (see `redis_state.py`). Timestamps are wall-clock seconds from the caller's clock
(`Runtime.clock`), so every process on every host must keep its clock in sync (NTP), as for any
shared deadline.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import pybreaker
import redis

from integrations.outbound import conf
from integrations.outbound.resilience.admission import Admission
from integrations.outbound.resilience.config import ServiceConfig
from integrations.outbound.resilience.memory_state import MemoryBackend, MemoryCircuitStorage
from integrations.outbound.resilience.redis_state import (
    RecordItem,
    RedisBackend,
    RedisCircuitStorage,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


_warned_lock = threading.Lock()
_warned = False


def _warn_redis_down(exc: BaseException) -> None:
    global _warned
    with _warned_lock:
        if _warned:
            return
        _warned = True
    logger.warning(
        "integrations.shared_state.redis_unavailable error=%s: using in-process breaker, "
        "limiter and metrics state in this process until Redis answers again",
        type(exc).__name__,
        extra={"event": "integrations.shared_state.redis_unavailable", "error": type(exc).__name__},
    )


class BackgroundRecorder:
    """Sends records to Redis from a daemon thread, in order and in batches (one pipeline per
    batch), so a successful attempt costs the caller one Redis round trip instead of two.

    Anything that reads what was recorded (the rate window, metrics) calls `flush()` first.
    Restarted after fork; flushed at interpreter exit. A batch that fails goes to the
    in-process fallback like any other Redis failure.
    """

    FLUSH_TIMEOUT = 2.0

    def __init__(self, backend: FallbackBackend) -> None:
        self._backend = backend
        self._items: deque[RecordItem] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._pid = 0

    def submit(self, item: RecordItem) -> None:
        with self._cond:
            if self._pid != os.getpid():
                self._start()
            self._items.append(item)
            self._cond.notify()

    def flush(self) -> None:
        if not self._items and not self._busy:
            return
        with self._cond:
            self._cond.wait_for(lambda: not self._items and not self._busy, self.FLUSH_TIMEOUT)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._items.clear()  # a parent's pending records are the parent's to send
        self._busy = False
        threading.Thread(target=self._loop, name="integrations-recorder", daemon=True).start()
        atexit.register(self.flush)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._items))
                batch = list(self._items)
                self._items.clear()
                self._busy = True
            try:
                self._backend.record_many(batch)
            except Exception:
                logger.exception("integrations.shared_state.record_failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


class FallbackBackend:
    """Redis while it answers; in-process state (same algorithms) while it does not."""

    def __init__(self, primary: RedisBackend, fallback: MemoryBackend) -> None:
        self.primary = primary
        self.fallback = fallback
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.recorder = BackgroundRecorder(self)

    @property
    def kind(self) -> str:
        return "memory-fallback" if self._down_until else "redis"

    def run(self, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
        """`primary()` unless Redis failed recently; `fallback()` when it fails now."""
        now = time.monotonic()
        if self._down_until and now < self._down_until:
            return fallback()
        try:
            result = primary()
        except redis.RedisError as exc:
            with self._lock:
                self._down_until = now + conf.integrations_redis_retry_seconds()
            _warn_redis_down(exc)
            return fallback()
        if self._down_until:
            with self._lock:
                self._down_until = 0.0
            logger.info(
                "integrations.shared_state.redis_recovered",
                extra={"event": "integrations.shared_state.redis_recovered"},
            )
        return result

    def admit(self, cfg: ServiceConfig, now: float) -> Admission:
        return self.run(lambda: self.primary.admit(cfg, now), lambda: self.fallback.admit(cfg, now))

    def pause(self, service: str, until: float, cfg: ServiceConfig, now: float) -> None:
        self.run(
            lambda: self.primary.pause(service, until, cfg, now),
            lambda: self.fallback.pause(service, until, cfg, now),
        )

    def push_outcome(self, service: str, failed: bool, window: int) -> tuple[int, int]:
        self.recorder.flush()
        return self.run(
            lambda: self.primary.push_outcome(service, failed, window),
            lambda: self.fallback.push_outcome(service, failed, window),
        )

    def reset_window(self, service: str) -> None:
        self.run(
            lambda: self.primary.reset_window(service),
            lambda: self.fallback.reset_window(service),
        )

    def record(
        self,
        service: str,
        now: float,
        metrics: dict[str, float],
        *,
        outcome: bool | None = None,
        window: int = 20,
    ) -> None:
        if outcome is True and not self._down_until:
            # A quiet success decides nothing: record it off the caller's path.
            self.recorder.submit((service, now, metrics, outcome, window))
            return
        self.recorder.flush()
        self.run(
            lambda: self.primary.record(service, now, metrics, outcome=outcome, window=window),
            lambda: self.fallback.record(service, now, metrics, outcome=outcome, window=window),
        )

    def record_many(self, items: list[RecordItem]) -> None:
        def to_fallback() -> None:
            for service, now, metrics, outcome, window in items:
                self.fallback.record(service, now, metrics, outcome=outcome, window=window)

        self.run(lambda: self.primary.record_many(items), to_fallback)

    def read_metrics(self, service: str, now: float, window_seconds: int) -> dict[str, float]:
        self.recorder.flush()
        return self.run(
            lambda: self.primary.read_metrics(service, now, window_seconds),
            lambda: self.fallback.read_metrics(service, now, window_seconds),
        )

    def limiter_status(self, cfg: ServiceConfig, now: float) -> tuple[float, float]:
        self.recorder.flush()
        return self.run(
            lambda: self.primary.limiter_status(cfg, now),
            lambda: self.fallback.limiter_status(cfg, now),
        )

    def circuit_storage(self, service: str) -> FallbackCircuitStorage:
        return FallbackCircuitStorage(
            self, self.primary.circuit_storage(service), self.fallback.circuit_storage(service)
        )


class FallbackCircuitStorage(pybreaker.CircuitBreakerStorage):
    """Breaker storage that follows its backend: Redis while it answers, memory otherwise."""

    def __init__(
        self,
        backend: FallbackBackend,
        primary: RedisCircuitStorage,
        fallback: MemoryCircuitStorage,
    ) -> None:
        super().__init__("redis-with-fallback")
        self._backend = backend
        self.primary = primary
        self.fallback = fallback
        self.clock: Callable[[], float] | None = None

    def _run(self, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
        self.primary.clock = self.fallback.clock = self.clock
        return self._backend.run(primary, fallback)

    @property
    def state(self) -> str:
        return self._run(lambda: self.primary.state, lambda: self.fallback.state)

    @state.setter
    def state(self, state: str) -> None:
        def set_primary() -> None:
            self.primary.state = state

        def set_fallback() -> None:
            self.fallback.state = state

        self._run(set_primary, set_fallback)

    def increment_counter(self) -> None:
        self._run(self.primary.increment_counter, self.fallback.increment_counter)

    def reset_counter(self) -> None:
        self._run(self.primary.reset_counter, self.fallback.reset_counter)

    def increment_success_counter(self) -> None:
        self._run(self.primary.increment_success_counter, self.fallback.increment_success_counter)

    def reset_success_counter(self) -> None:
        self._run(self.primary.reset_success_counter, self.fallback.reset_success_counter)

    @property
    def counter(self) -> int:
        return self._run(lambda: self.primary.counter, lambda: self.fallback.counter)

    @property
    def success_counter(self) -> int:
        return self._run(
            lambda: self.primary.success_counter, lambda: self.fallback.success_counter
        )

    @property
    def opened_at(self) -> datetime | None:
        return self._run(lambda: self.primary.opened_at, lambda: self.fallback.opened_at)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        def set_primary() -> None:
            self.primary.opened_at = value

        def set_fallback() -> None:
            self.fallback.opened_at = value

        self._run(set_primary, set_fallback)

    def snapshot(self) -> tuple[str, float, int, int]:
        return self._run(
            self.primary.snapshot,
            self.fallback.snapshot,
        )


Backend = MemoryBackend | FallbackBackend

_backends: dict[tuple[str, str], Backend] = {}
_backends_lock = threading.Lock()


def get_backend() -> Backend:
    """The state backend for the current settings (one per REDIS_URL and key prefix)."""
    key = (conf.redis_url(), conf.integrations_state_prefix())
    backend = _backends.get(key)
    if backend is None:
        with _backends_lock:
            backend = _backends.get(key)
            if backend is None:
                url, prefix = key
                memory = MemoryBackend()
                backend = FallbackBackend(RedisBackend(url, prefix), memory) if url else memory
                _backends[key] = backend
    return backend
