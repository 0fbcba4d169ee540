"""Breaker, limiter and metrics state in Redis, shared by every process.

Two round trips per attempt on the hot path: `_ADMIT_LUA` reads the breaker and takes a token
(counting rate-limit waits), `_RECORD_LUA` pushes the outcome to the rate window and adds the
attempt's metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pybreaker
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from integrations.outbound import conf
from integrations.outbound.resilience.admission import (
    METRICS_BUCKET_SECONDS,
    STATE_CLOSED,
    STATE_OPEN,
    Admission,
)
from integrations.outbound.resilience.config import ServiceConfig

REDIS_SOCKET_TIMEOUT = 0.5

# service, now, metrics, outcome (True ok / False failed / None), window size
RecordItem = tuple[str, float, dict[str, float], bool | None, int]


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
            # One immediate retry on a broken connection only: a pooled connection the server
            # (or a proxy, or a Redis restart) closed should not switch every process to the
            # in-process fallback. Timeouts are not retried: a slow Redis falls back at once.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[redis.exceptions.ConnectionError],
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
        self._record(
            keys=[self.key(service, "win"), self.metrics_key(service, now)],
            args=self._record_args(metrics, outcome, window),
        )

    def _record_args(
        self, metrics: dict[str, float], outcome: bool | None, window: int
    ) -> list[Any]:
        args: list[Any] = ["" if outcome is None else ("0" if outcome else "1"), window]
        args.append(self.metrics_ttl())
        for field, value in metrics.items():
            args += (field, int(value))
        return args

    def _incr(self, pipe: Any, service: str, now: float, metrics: dict[str, float]) -> None:
        key = self.metrics_key(service, now)
        for field, value in metrics.items():
            pipe.hincrby(key, field, int(value))
        pipe.expire(key, self.metrics_ttl())

    def record_many(self, items: list[RecordItem]) -> None:
        """Several `record` calls in one pipeline (one round trip)."""
        pipe = self.client.pipeline(transaction=False)
        for service, now, metrics, outcome, window in items:
            self._record(
                keys=[self.key(service, "win"), self.metrics_key(service, now)],
                args=self._record_args(metrics, outcome, window),
                client=pipe,
            )
        pipe.execute()

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
