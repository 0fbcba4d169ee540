"""In-process breaker, limiter and metrics state: one process, one budget per service."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import pybreaker

from integrations.outbound.resilience.admission import (
    METRICS_BUCKET_SECONDS,
    STATE_CLOSED,
    STATE_OPEN,
    Admission,
)
from integrations.outbound.resilience.config import ServiceConfig


class MemoryBackend:
    """In-process state: one process, one breaker and one budget per service."""

    kind = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, list[float]] = {}  # service -> [tokens, ts, paused_until]
        self._storages: dict[str, MemoryCircuitStorage] = {}
        self._windows: dict[str, deque[int]] = {}
        self._metrics: dict[str, dict[int, dict[str, float]]] = {}

    def circuit_storage(self, service: str) -> MemoryCircuitStorage:
        with self._lock:
            storage = self._storages.get(service)
            if storage is None:
                storage = self._storages[service] = MemoryCircuitStorage()
            return storage

    def admit(self, cfg: ServiceConfig, now: float) -> Admission:
        storage = self.circuit_storage(cfg.name)
        state, opened_at, fails, _trips = storage.snapshot()
        with self._lock:
            if state == STATE_OPEN and now < opened_at + cfg.breaker_reset_timeout:
                self._bump(cfg.name, now, {"rejected_open": 1})
                return Admission("open", state, opened_at, fails)
            bucket = self._buckets.get(cfg.name)
            if bucket is None:
                bucket = self._buckets[cfg.name] = [cfg.limiter_capacity, now, 0.0]
            verdict, wait, retry_at = _take_token(bucket, cfg, now)
            if verdict == "ok":
                self._bump(cfg.name, now, _admission_metrics(wait))
            elif verdict == "reject":
                self._bump(cfg.name, now, {"rl_rejected": 1})
            return Admission(verdict, state, opened_at, fails, wait, retry_at)

    def pause(self, service: str, until: float, cfg: ServiceConfig, now: float) -> None:
        with self._lock:
            bucket = self._buckets.setdefault(service, [cfg.limiter_capacity, now, 0.0])
            bucket[2] = max(bucket[2], until)
            self._bump(service, now, {"rl_pauses": 1})

    def push_outcome(self, service: str, failed: bool, window: int) -> tuple[int, int]:
        with self._lock:
            outcomes = self._windows.get(service)
            if outcomes is None or outcomes.maxlen != window:
                outcomes = self._windows[service] = deque(outcomes or (), maxlen=window)
            outcomes.append(1 if failed else 0)
            return len(outcomes), sum(outcomes)

    def reset_window(self, service: str) -> None:
        with self._lock:
            self._windows.pop(service, None)

    def record(
        self,
        service: str,
        now: float,
        metrics: dict[str, float],
        *,
        outcome: bool | None = None,
        window: int = 20,
    ) -> None:
        if outcome is not None:
            self.push_outcome(service, not outcome, window)
        with self._lock:
            self._bump(service, now, metrics)

    def _bump(self, service: str, now: float, metrics: dict[str, float]) -> None:
        minute = int(now // METRICS_BUCKET_SECONDS)
        per_service = self._metrics.setdefault(service, {})
        bucket = per_service.setdefault(minute, {})
        for key, value in metrics.items():
            bucket[key] = bucket.get(key, 0) + value
        if len(per_service) > 120:
            for old in sorted(per_service)[:-120]:
                del per_service[old]

    def read_metrics(self, service: str, now: float, window_seconds: int) -> dict[str, float]:
        first = int((now - window_seconds) // METRICS_BUCKET_SECONDS) + 1
        last = int(now // METRICS_BUCKET_SECONDS)
        total: dict[str, float] = {}
        with self._lock:
            for minute, values in self._metrics.get(service, {}).items():
                if first <= minute <= last:
                    for key, value in values.items():
                        total[key] = total.get(key, 0) + value
        return total

    def limiter_status(self, cfg: ServiceConfig, now: float) -> tuple[float, float]:
        with self._lock:
            bucket = self._buckets.get(cfg.name)
            if bucket is None:
                return cfg.limiter_capacity, 0.0
            tokens = min(
                cfg.limiter_capacity,
                bucket[0] + max(0.0, now - bucket[1]) * cfg.limiter_refill_rate,
            )
            return tokens, bucket[2]


def _take_token(bucket: list[float], cfg: ServiceConfig, now: float) -> tuple[str, float, float]:
    """The token bucket, in memory; `_ADMIT_LUA` is the same algorithm for Redis."""
    tokens, ts, paused = bucket
    if now > ts:
        tokens = min(cfg.limiter_capacity, tokens + (now - ts) * cfg.limiter_refill_rate)
        ts = now
    if paused > now:
        bucket[0], bucket[1] = tokens, ts
        wait = paused - now
        if wait > cfg.limiter_max_wait:
            return "reject", wait, paused
        return "pause", wait, paused
    tokens -= 1
    wait = 0.0
    if tokens < 0:
        wait = -tokens / cfg.limiter_refill_rate
        if wait > cfg.limiter_max_wait:
            return "reject", wait, now + wait
    bucket[0], bucket[1] = tokens, ts
    return "ok", wait, 0.0


def _admission_metrics(wait: float) -> dict[str, float]:
    if wait > 0:
        return {"admitted": 1, "rl_waits": 1, "rl_wait_ms": round(wait * 1000)}
    return {"admitted": 1}


class MemoryCircuitStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's memory storage with the opened-at time from our clock and a trip count."""

    def __init__(self) -> None:
        super().__init__(STATE_CLOSED)
        self._opened_ts = 0.0
        self.trips = 0
        self.clock: Callable[[], float] | None = None

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        if state == STATE_OPEN:
            self.trips += 1
        self._state = state

    @property
    def opened_at(self) -> datetime | None:
        return datetime.fromtimestamp(self._opened_ts, UTC) if self._opened_ts else None

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._opened_ts = self.clock() if self.clock else value.timestamp()

    def snapshot(self) -> tuple[str, float, int, int]:
        return self._state, self._opened_ts, self._fail_counter, self.trips
