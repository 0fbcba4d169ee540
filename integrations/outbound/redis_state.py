"""Breaker, limiter and metrics state in Redis, shared by every process: the rules of
`rules.py`, step for step, in two Lua scripts that Redis runs atomically.

`_ADMIT_LUA` is `rules.admission` (breaker decision, token, the move to half-open and the probe
lease) and `_RECORD_LUA` is `rules.record_outcome` (counter, window, trips) plus the attempt's
metrics: one round trip each, and no process can see half a transition. Keys per service: `cb`
(breaker hash: state, opened_at, fail, success, probe_until, trips), `win` (outcome list, newest
first), `tb` (bucket hash: tokens, ts, paused), `m:<minute>` (metrics hash).
"""

from __future__ import annotations

import math
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from integrations.outbound import conf, rules
from integrations.outbound.config import ServiceConfig
from integrations.outbound.metrics import METRICS_BUCKET_SECONDS

REDIS_SOCKET_TIMEOUT = 0.5

RecordItem = tuple[ServiceConfig, float, rules.Report]

# KEYS: cb, tb, metrics hash of the current minute.
# ARGV: now, reset_timeout, probe_lease, capacity, refill_rate, max_wait, metrics ttl.
# Returns: verdict, state, opened_at, fail, wait, retry_at, probe, moved_from, reason.
_ADMIT_LUA = """
local now = tonumber(ARGV[1])
local cb = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'fail', 'probe_until')
local state = cb[1] or 'closed'
local opened_raw = cb[2] or '0'
local opened_at = tonumber(opened_raw)
local fails = cb[3] or '0'
local probe_until = tonumber(cb[4]) or 0
local mttl = tonumber(ARGV[7])
local function bump(field, n)
  redis.call('HINCRBY', KEYS[3], field, n)
  redis.call('EXPIRE', KEYS[3], mttl)
end
local function answer(verdict, wait, retry_at, probe, moved_from, reason)
  return {verdict, state, opened_raw, fails, string.format('%.17g', wait),
          string.format('%.17g', retry_at),
          probe, moved_from, reason}
end
local probe = '0'
if state == 'open' then
  local reopens = opened_at + tonumber(ARGV[2])
  if now < reopens then
    bump('rejected_open', 1)
    return answer('open', 0, reopens, '0', '', '')
  end
  probe = '1'
elseif state == 'half-open' then
  if now < probe_until then
    bump('rejected_open', 1)
    return answer('open', 0, probe_until, '0', '', '')
  end
  probe = '1'
end
local capacity = tonumber(ARGV[4])
local rate = tonumber(ARGV[5])
local max_wait = tonumber(ARGV[6])
local tb = redis.call('HMGET', KEYS[2], 'tokens', 'ts', 'paused')
local tokens = tonumber(tb[1])
local ts = tonumber(tb[2])
local paused = tonumber(tb[3]) or 0
if tokens == nil then tokens = capacity; ts = now end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
if paused > now then
  local wait = paused - now
  if wait > max_wait then
    bump('rl_rejected', 1)
    return answer('reject', wait, paused, '0', '', '')
  end
  return answer('pause', wait, paused, '0', '', '')
end
tokens = tokens - 1
local wait = 0
if tokens < 0 then
  wait = -tokens / rate
  if wait > max_wait then
    bump('rl_rejected', 1)
    return answer('reject', wait, now + wait, '0', '', '')
  end
end
redis.call('HSET', KEYS[2], 'tokens', string.format('%.17g', tokens), 'ts',
           string.format('%.17g', ts))
redis.call('EXPIRE', KEYS[2], math.ceil(capacity / rate + max_wait) + 60)
bump('admitted', 1)
if wait > 0 then
  bump('rl_waits', 1)
  bump('rl_wait_ms', math.floor(wait * 1000 + 0.5))
end
local moved_from, reason = '', ''
if probe == '1' then
  if state == 'open' then
    moved_from, reason = 'open', 'reset_timeout'
    state = 'half-open'
    redis.call('HSET', KEYS[1], 'state', state, 'success', 0)
  end
  redis.call('HSET', KEYS[1], 'probe_until', string.format('%.17g', now + tonumber(ARGV[3])))
end
return answer('ok', wait, 0, probe, moved_from, reason)
"""

# KEYS: cb, win, metrics hash of the current minute.
# ARGV: now, failed ("1", "0", or "" for metrics only), probe ("1"/"0"), fail_max, window,
#       min_calls, failure_rate, success_threshold, metrics ttl, then field, n, field, n, ...
# Returns: state, moved_from, reason, seen, failed.
_RECORD_LUA = """
for i = 10, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[9]))
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if ARGV[2] == '' then return {state, '', '', 0, 0} end
local now = ARGV[1]
local failed = ARGV[2] == '1'
local probe = ARGV[3] == '1'
local function open(from, reason, seen, bad)
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'success', 0, 'probe_until', 0)
  redis.call('HINCRBY', KEYS[1], 'trips', 1)
  redis.call('DEL', KEYS[2])
  return {'open', from, reason, seen, bad}
end
if state == 'closed' and not probe then
  redis.call('LPUSH', KEYS[2], failed and '1' or '0')
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
  redis.call('EXPIRE', KEYS[2], 86400)
  local outcomes = redis.call('LRANGE', KEYS[2], 0, -1)
  local seen, bad = #outcomes, 0
  for _, item in ipairs(outcomes) do
    if item == '1' then bad = bad + 1 end
  end
  if not failed then
    if (tonumber(redis.call('HGET', KEYS[1], 'fail')) or 0) ~= 0 then
      redis.call('HSET', KEYS[1], 'fail', 0)
    end
    return {'closed', '', '', seen, bad}
  end
  local fails = redis.call('HINCRBY', KEYS[1], 'fail', 1)
  if fails >= tonumber(ARGV[4]) then return open('closed', 'consecutive_failures', seen, bad) end
  if seen >= tonumber(ARGV[6]) and bad >= tonumber(ARGV[7]) * seen then
    return open('closed', 'failure_rate', seen, bad)
  end
  return {'closed', '', '', seen, bad}
end
if state == 'half-open' and probe then
  if failed then return open('half-open', 'probe_failed', 0, 0) end
  local successes = redis.call('HINCRBY', KEYS[1], 'success', 1)
  if successes >= tonumber(ARGV[8]) then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'fail', 0, 'success', 0, 'probe_until', 0)
    redis.call('DEL', KEYS[2])
    return {'closed', 'half-open', 'probe_succeeded', 0, 0}
  end
  redis.call('HSET', KEYS[1], 'probe_until', 0)
end
return {state, '', '', 0, 0}
"""

# KEYS: tb, metrics hash. ARGV: paused-until, ttl, metrics ttl.
_PAUSE_LUA = """
local current = tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'paused', ARGV[1])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[2], 'rl_pauses', 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
"""


def _text(item: Any) -> str:
    return item.decode() if isinstance(item, bytes) else str(item)


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

    def admit(self, cfg: ServiceConfig, now: float) -> rules.Admission:
        raw = self._admit(
            keys=[
                self.key(cfg.name, "cb"),
                self.key(cfg.name, "tb"),
                self.metrics_key(cfg.name, now),
            ],
            args=[
                repr(now),
                repr(cfg.breaker_reset_timeout),
                repr(cfg.breaker_probe_lease),
                repr(cfg.limiter_capacity),
                repr(cfg.limiter_refill_rate),
                repr(cfg.limiter_max_wait),
                self.metrics_ttl(),
            ],
        )
        verdict, state, opened_at, fails, wait, retry_at, probe, moved_from, reason = map(
            _text, raw
        )
        return rules.Admission(
            verdict,
            state,
            float(opened_at),
            int(fails),
            float(wait),
            float(retry_at),
            probe=probe == "1",
            moved_from=moved_from,
            reason=reason,
        )

    def record(self, cfg: ServiceConfig, now: float, report: rules.Report) -> rules.Outcome:
        keys, args = self._record_call(cfg, now, report)
        return _outcome(self._record(keys=keys, args=args))

    def record_many(self, items: list[RecordItem]) -> None:
        """Several `record` calls in one pipeline (one round trip)."""
        pipe = self.client.pipeline(transaction=False)
        for cfg, now, report in items:
            keys, args = self._record_call(cfg, now, report)
            self._record(keys=keys, args=args, client=pipe)
        pipe.execute()

    def _record_call(
        self, cfg: ServiceConfig, now: float, report: rules.Report
    ) -> tuple[list[str], list[Any]]:
        failed = report.failed
        args: list[Any] = [
            repr(now),
            "" if failed is None else ("1" if failed else "0"),
            "1" if report.probe else "0",
            cfg.breaker_fail_max,
            cfg.breaker_window,
            cfg.breaker_min_calls,
            repr(cfg.breaker_failure_rate),
            cfg.breaker_success_threshold,
            self.metrics_ttl(),
        ]
        for name, value in report.metrics.items():
            args += (name, int(value))
        keys = [
            self.key(cfg.name, "cb"),
            self.key(cfg.name, "win"),
            self.metrics_key(cfg.name, now),
        ]
        return keys, args

    def pause(self, cfg: ServiceConfig, until: float, now: float) -> None:
        ttl = math.ceil(max(0.0, until - now) + cfg.limiter_capacity / cfg.limiter_refill_rate) + 60
        self._pause(
            keys=[self.key(cfg.name, "tb"), self.metrics_key(cfg.name, now)],
            args=[repr(until), ttl, self.metrics_ttl()],
        )

    def read_metrics(self, service: str, now: float, window_seconds: int) -> dict[str, float]:
        last = int(now // METRICS_BUCKET_SECONDS)
        first = int((now - window_seconds) // METRICS_BUCKET_SECONDS) + 1
        pipe = self.client.pipeline(transaction=False)
        for minute in range(first, last + 1):
            pipe.hgetall(self.key(service, f"m:{minute}"))
        total: dict[str, float] = {}
        for values in pipe.execute():
            for name, value in values.items():
                total[_text(name)] = total.get(_text(name), 0) + int(value)
        return total

    def limiter_status(self, cfg: ServiceConfig, now: float) -> tuple[float, float]:
        tokens, ts, paused = self.client.hmget(self.key(cfg.name, "tb"), "tokens", "ts", "paused")
        if tokens is None:
            return cfg.limiter_capacity, float(paused or 0)
        bucket = rules.Bucket(tokens=float(tokens), ts=float(ts or now), paused=float(paused or 0))
        return rules.bucket_available(bucket, cfg, now), bucket.paused

    def breaker_status(self, service: str) -> rules.BreakerStatus:
        values: Any = self.client.hmget(
            self.key(service, "cb"), "state", "opened_at", "fail", "trips"
        )
        state, opened_at, fails, trips = values
        return rules.BreakerStatus(
            _text(state) if state is not None else rules.CLOSED,
            float(opened_at or 0),
            int(fails or 0),
            int(trips or 0),
        )


def _outcome(raw: Any) -> rules.Outcome:
    state, moved_from, reason, seen, failed = raw
    return rules.Outcome(_text(state), _text(moved_from), _text(reason), int(seen), int(failed))
