"""Where breaker, limiter and metrics state lives: Redis (shared by every process) or memory.

`get_backend()` returns the backend for the current settings: a `FallbackBackend` over Redis
when `REDIS_URL` is set, a `MemoryBackend` otherwise. When Redis stops answering, the fallback
backend switches to in-process state, logs ONE warning per process, and tries Redis again after
`INTEGRATIONS_REDIS_RETRY_SECONDS`: the breaker and the limiter keep working, per process, and
are never silently switched off.

The hot path costs two Redis round trips per attempt: one Lua script reads the breaker state and
takes a limiter token (also counting rate-limit waits), one pipeline records the outcome and
the metrics. Timestamps are wall-clock seconds from the caller's clock (`Runtime.clock`), so
every process on every host must keep its clock in sync (NTP), as for any shared deadline.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pybreaker
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from integrations import conf
from integrations.resilience.config import ServiceConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

STATE_CLOSED = pybreaker.STATE_CLOSED
STATE_OPEN = pybreaker.STATE_OPEN
STATE_HALF_OPEN = pybreaker.STATE_HALF_OPEN

# Latency histogram bucket upper bounds, in milliseconds (the last bucket is open-ended).
LATENCY_BUCKETS_MS: tuple[int, ...] = (
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
)  # fmt: skip
REDIS_SOCKET_TIMEOUT = 0.5
METRICS_BUCKET_SECONDS = 60


def latency_bucket(ms: float) -> str:
    for bound in LATENCY_BUCKETS_MS:
        if ms <= bound:
            return f"lat:{bound}"
    return "lat:inf"


@dataclass(frozen=True)
class Admission:
    """What the shared state said before an attempt.

    `verdict`: "ok" (a token was taken; wait `wait` seconds, then send), "open" (breaker open
    and its reset timeout not elapsed: do not send), "pause" (the service asked us to pause:
    wait `wait` seconds and ask again), "reject" (budget would only come back after
    `limiter_max_wait`; `retry_at` says when).
    """

    verdict: str
    breaker_state: str
    opened_at: float
    fail_counter: int
    wait: float = 0.0
    retry_at: float = 0.0


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


# --- Redis -------------------------------------------------------------------------------------

# KEYS: breaker hash, bucket hash, metrics hash of the current minute.
# ARGV: now, reset_timeout, capacity, refill_rate, max_wait, metrics ttl.
# Returns strings: verdict, breaker state, opened_at, fail counter, wait, retry_at.
_ADMIT_LUA = """
local now = tonumber(ARGV[1])
local cb = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'fail')
local state = cb[1] or 'closed'
local opened_at = tonumber(cb[2]) or 0
local fails = cb[3] or '0'
local function bump(field, n)
  redis.call('HINCRBY', KEYS[3], field, n)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
end
if state == 'open' and now < opened_at + tonumber(ARGV[2]) then
  bump('rejected_open', 1)
  return {'open', state, tostring(opened_at), fails, '0', '0'}
end
local capacity = tonumber(ARGV[3])
local rate = tonumber(ARGV[4])
local max_wait = tonumber(ARGV[5])
local tb = redis.call('HMGET', KEYS[2], 'tokens', 'ts', 'paused')
local tokens = tonumber(tb[1])
local ts = tonumber(tb[2])
local paused = tonumber(tb[3]) or 0
if tokens == nil then tokens = capacity; ts = now end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local ttl = math.ceil(capacity / rate + max_wait) + 60
if paused > now then
  local wait = paused - now
  if wait > max_wait then
    bump('rl_rejected', 1)
    return {'reject', state, tostring(opened_at), fails, tostring(wait), tostring(paused)}
  end
  return {'pause', state, tostring(opened_at), fails, tostring(wait), tostring(paused)}
end
tokens = tokens - 1
local wait = 0
if tokens < 0 then
  wait = -tokens / rate
  if wait > max_wait then
    bump('rl_rejected', 1)
    return {'reject', state, tostring(opened_at), fails, tostring(wait), tostring(now + wait)}
  end
end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('EXPIRE', KEYS[2], ttl)
bump('admitted', 1)
if wait > 0 then
  bump('rl_waits', 1)
  bump('rl_wait_ms', math.floor(wait * 1000 + 0.5))
end
return {'ok', state, tostring(opened_at), fails, tostring(wait), '0'}
"""

# KEYS: outcome window list, metrics hash of the current minute.
# ARGV: outcome ("1" failed, "0" ok, "" none), window size, metrics ttl, field, n, field, n, ...
_RECORD_LUA = """
if ARGV[1] ~= '' then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  redis.call('EXPIRE', KEYS[1], 86400)
end
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
"""

# KEYS: bucket hash. ARGV: paused-until, ttl.
_PAUSE_LUA = """
local current = tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'paused', ARGV[1])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


class RedisBackend:
    """State in Redis, shared by every process using the same REDIS_URL and key prefix."""

    kind = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_SOCKET_TIMEOUT,
            socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self.prefix = prefix
        self._admit = self.client.register_script(_ADMIT_LUA)
        self._pause = self.client.register_script(_PAUSE_LUA)
        self._record = self.client.register_script(_RECORD_LUA)

    def key(self, service: str, part: str) -> str:
        return f"{self.prefix}:{service}:{part}"

    def metrics_key(self, service: str, now: float) -> str:
        return self.key(service, f"m:{int(now // METRICS_BUCKET_SECONDS)}")

    def metrics_ttl(self) -> int:
        return conf.integrations_metrics_window_seconds() + 2 * METRICS_BUCKET_SECONDS

    def admit(self, cfg: ServiceConfig, now: float) -> Admission:
        raw = self._admit(
            keys=[
                self.key(cfg.name, "cb"),
                self.key(cfg.name, "tb"),
                self.metrics_key(cfg.name, now),
            ],
            args=[
                repr(now),
                repr(cfg.breaker_reset_timeout),
                repr(cfg.limiter_capacity),
                repr(cfg.limiter_refill_rate),
                repr(cfg.limiter_max_wait),
                self.metrics_ttl(),
            ],
        )
        verdict, state, opened_at, fails, wait, retry_at = (
            item.decode() if isinstance(item, bytes) else str(item) for item in raw
        )
        return Admission(verdict, state, float(opened_at), int(fails), float(wait), float(retry_at))

    def pause(self, service: str, until: float, cfg: ServiceConfig, now: float) -> None:
        ttl = math.ceil(max(0.0, until - now) + cfg.limiter_capacity / cfg.limiter_refill_rate) + 60
        pipe = self.client.pipeline(transaction=False)
        self._pause(keys=[self.key(service, "tb")], args=[repr(until), ttl], client=pipe)
        self._incr(pipe, service, now, {"rl_pauses": 1})
        pipe.execute()

    def circuit_storage(self, service: str) -> RedisCircuitStorage:
        return RedisCircuitStorage(self, service)

    def push_outcome(self, service: str, failed: bool, window: int) -> tuple[int, int]:
        pipe = self.client.pipeline(transaction=False)
        self._push(pipe, service, failed, window)
        outcomes = pipe.execute()[-1]
        return len(outcomes), sum(1 for item in outcomes if item == b"1")

    def _push(self, pipe: Any, service: str, failed: bool, window: int) -> None:
        key = self.key(service, "win")
        pipe.lpush(key, 1 if failed else 0)
        pipe.ltrim(key, 0, window - 1)
        pipe.expire(key, 24 * 3600)
        pipe.lrange(key, 0, -1)

    def reset_window(self, service: str) -> None:
        self.client.delete(self.key(service, "win"))

    def record(
        self,
        service: str,
        now: float,
        metrics: dict[str, float],
        *,
        outcome: bool | None = None,
        window: int = 20,
    ) -> None:
        args: list[Any] = ["" if outcome is None else ("0" if outcome else "1"), window]
        args.append(self.metrics_ttl())
        for field, value in metrics.items():
            args += (field, int(value))
        self._record(keys=[self.key(service, "win"), self.metrics_key(service, now)], args=args)

    def _incr(self, pipe: Any, service: str, now: float, metrics: dict[str, float]) -> None:
        key = self.metrics_key(service, now)
        for field, value in metrics.items():
            pipe.hincrby(key, field, int(value))
        pipe.expire(key, self.metrics_ttl())

    def read_metrics(self, service: str, now: float, window_seconds: int) -> dict[str, float]:
        last = int(now // METRICS_BUCKET_SECONDS)
        first = int((now - window_seconds) // METRICS_BUCKET_SECONDS) + 1
        pipe = self.client.pipeline(transaction=False)
        for minute in range(first, last + 1):
            pipe.hgetall(self.key(service, f"m:{minute}"))
        total: dict[str, float] = {}
        for values in pipe.execute():
            for field, value in values.items():
                name = field.decode()
                total[name] = total.get(name, 0) + int(value)
        return total

    def limiter_status(self, cfg: ServiceConfig, now: float) -> tuple[float, float]:
        tokens, ts, paused = self.client.hmget(self.key(cfg.name, "tb"), "tokens", "ts", "paused")
        if tokens is None:
            return cfg.limiter_capacity, float(paused or 0)
        refilled = float(tokens) + max(0.0, now - float(ts or now)) * cfg.limiter_refill_rate
        return min(cfg.limiter_capacity, refilled), float(paused or 0)


class RedisCircuitStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker storage in one Redis hash per service (state, fail, success, opened_at, trips).

    Equivalent to pybreaker's CircuitRedisStorage, in a layout the admission script can read in
    the same round trip as the limiter, with opened-at in float seconds from our clock.
    """

    def __init__(self, backend: RedisBackend, service: str) -> None:
        super().__init__("redis")
        self._client = backend.client
        self._key = backend.key(service, "cb")
        self.clock: Callable[[], float] | None = None

    def _get(self, field: str) -> bytes | None:
        value: Any = self._client.hget(self._key, field)
        return value if isinstance(value, bytes) else None

    @property
    def state(self) -> str:
        value = self._get("state")
        return value.decode() if value else STATE_CLOSED

    @state.setter
    def state(self, state: str) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.hset(self._key, "state", state)
        if state == STATE_OPEN:
            pipe.hincrby(self._key, "trips", 1)
        pipe.execute()

    def increment_counter(self) -> None:
        self._client.hincrby(self._key, "fail", 1)

    def reset_counter(self) -> None:
        self._client.hset(self._key, "fail", 0)

    def increment_success_counter(self) -> None:
        self._client.hincrby(self._key, "success", 1)

    def reset_success_counter(self) -> None:
        self._client.hset(self._key, "success", 0)

    @property
    def counter(self) -> int:
        return int(self._get("fail") or 0)

    @property
    def success_counter(self) -> int:
        return int(self._get("success") or 0)

    @property
    def opened_at(self) -> datetime | None:
        value = self._get("opened_at")
        return datetime.fromtimestamp(float(value), UTC) if value else None

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._client.hset(
            self._key, "opened_at", repr(self.clock() if self.clock else value.timestamp())
        )

    def snapshot(self) -> tuple[str, float, int, int]:
        values: Any = self._client.hmget(self._key, "state", "opened_at", "fail", "trips")
        state, opened_at, fails, trips = values
        return (
            state.decode() if isinstance(state, bytes) else STATE_CLOSED,
            float(opened_at or 0),
            int(fails or 0),
            int(trips or 0),
        )


# --- fallback ----------------------------------------------------------------------------------

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
    """Redis while it answers; in-process state (same algorithms) while it does not."""

    def __init__(self, primary: RedisBackend, fallback: MemoryBackend) -> None:
        self.primary = primary
        self.fallback = fallback
        self._down_until = 0.0
        self._lock = threading.Lock()

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
        self.run(
            lambda: self.primary.record(service, now, metrics, outcome=outcome, window=window),
            lambda: self.fallback.record(service, now, metrics, outcome=outcome, window=window),
        )

    def read_metrics(self, service: str, now: float, window_seconds: int) -> dict[str, float]:
        return self.run(
            lambda: self.primary.read_metrics(service, now, window_seconds),
            lambda: self.fallback.read_metrics(service, now, window_seconds),
        )

    def limiter_status(self, cfg: ServiceConfig, now: float) -> tuple[float, float]:
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
