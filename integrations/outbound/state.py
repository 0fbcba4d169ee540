"""Where breaker, limiter and metrics state lives: Redis (shared by every process) or memory.

`get_backend()` returns the backend for the current settings: a `FallbackBackend` over Redis
when `REDIS_URL` is set, a `MemoryBackend` (with the transition journal) otherwise. Both run
the rules of `rules.py`. When Redis stops answering (connection refused, or no answer within
`REDIS_SOCKET_TIMEOUT`), `FallbackBackend` sends every operation to in-process state, logs ONE
warning per process, and tries Redis again after `INTEGRATIONS_REDIS_RETRY_SECONDS`: the
breaker and the limiter keep working, per process, and are never silently switched off.

Timestamps are wall-clock seconds from the caller's clock (`Runtime.clock`), so every process
on every host must keep its clock in sync (NTP), as for any shared deadline.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import redis

from integrations.outbound import conf, journal, rules
from integrations.outbound.config import ServiceConfig
from integrations.outbound.memory_state import MemoryBackend
from integrations.outbound.redis_state import RecordItem, RedisBackend

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Backend(Protocol):
    """What the guard and the health snapshot use; Redis and memory implement it alike."""

    kind: str

    def admit(self, cfg: ServiceConfig, now: float) -> rules.Admission: ...

    def record(self, cfg: ServiceConfig, now: float, report: rules.Report) -> rules.Outcome: ...

    def pause(self, cfg: ServiceConfig, until: float, now: float) -> None: ...

    def read_metrics(self, service: str, now: float, window_seconds: int) -> dict[str, float]: ...

    def limiter_status(self, cfg: ServiceConfig, now: float) -> tuple[float, float]: ...

    def breaker_status(self, service: str) -> rules.BreakerStatus | None: ...


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


class FallbackBackend:
    """Redis while it answers; in-process state (the same rules) while it does not.

    Every operation of `Backend` goes through `_run`, whatever its name: there is one place that
    decides where state lives. Quiet successes (a closed breaker, no failure counted) decide
    nothing and are recorded off the caller's path by `recorder`; anything that reads what was
    recorded flushes it first.
    """

    _READS = frozenset({"read_metrics", "limiter_status", "breaker_status"})

    def __init__(self, primary: RedisBackend, fallback: MemoryBackend) -> None:
        self.primary = primary
        self.fallback = fallback
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.recorder = BackgroundRecorder(self)

    @property
    def kind(self) -> str:
        return "memory-fallback" if self._down_until else "redis"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        primary, fallback = getattr(self.primary, name), getattr(self.fallback, name)
        reads = name in self._READS

        def call(*args: Any, **kwargs: Any) -> Any:
            if reads or name == "record":
                self.recorder.flush()
            return self._run(lambda: primary(*args, **kwargs), lambda: fallback(*args, **kwargs))

        return call

    def _run(self, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
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

    def record_quietly(self, item: RecordItem) -> None:
        """A success that cannot move the breaker: recorded in the background."""
        if self._down_until:
            self.fallback.record(*item)
            return
        self.recorder.submit(item)

    def record_many(self, items: list[RecordItem]) -> None:
        def to_fallback() -> None:
            for item in items:
                self.fallback.record(*item)

        self._run(lambda: self.primary.record_many(items), to_fallback)


class BackgroundRecorder:
    """Sends records to Redis from a daemon thread, in order and in batches (one pipeline per
    batch), so a successful attempt costs the caller one Redis round trip instead of two.

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
                if url:
                    backend = cast(
                        Backend, FallbackBackend(RedisBackend(url, prefix), MemoryBackend())
                    )
                else:
                    backend = MemoryBackend(on_transition=journal.breaker_transition_record)
                _backends[key] = backend
    return backend
