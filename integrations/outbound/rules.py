"""The breaker and token-bucket rules: the one specification of the outbound layer's state.

Two implementations follow these rules step for step: `memory_state.MemoryBackend` runs the
functions below on in-process values, and `redis_state.RedisBackend` runs Lua scripts that take
the same steps on Redis hashes, atomically, so every process sees each transition at once.
`tests/integrations/outbound/test_state_parity.py` runs identical scenarios against both.

Circuit breaker, per service (the owner of every transition is `admission` / `record_outcome`):

- **closed**: every call is admitted. A failure (transport error, timeout, 5xx) adds 1 to the
  consecutive-failure counter and a 1 to the window (the last `breaker_window` outcomes); any
  other outcome (a success, a 4xx, a business error the caller excluded) resets the counter
  and adds a 0. The breaker opens when the counter reaches `breaker_fail_max`, or when the
  window holds at least `breaker_min_calls` outcomes of which at least `breaker_failure_rate`
  are failures.
- **open**: every call is refused until `opened_at + breaker_reset_timeout`; the first call
  admitted after that moves the breaker to half-open and is its probe.
- **half-open**: one probe at a time; other calls are refused while it is out (for at most
  `breaker_probe_lease` seconds: a probe whose outcome never comes is presumed lost). A probe
  that succeeds counts towards `breaker_success_threshold`, then the breaker closes (counter and
  window reset); a probe that fails opens it again (`opened_at` = now).
- An outcome reported for a call admitted before a transition (a non-probe outcome while not
  closed, a probe outcome while not half-open) changes nothing: a late answer never trips or
  closes a breaker someone else already moved.

Token bucket, per service: tokens refill continuously at `limiter_refill_rate` up to
`limiter_capacity`; an admitted call takes one token, and may take it from the future (the
balance goes negative), in which case it waits `-tokens / refill_rate` seconds; a call that
would wait longer than `limiter_max_wait` is refused and takes nothing. A pause (the service
answered 429) makes every call before `paused_until` wait, or be refused when the pause ends
later than `limiter_max_wait` from now. A refused or paused admission changes nothing (the
breaker does not move to half-open for a call the bucket refuses).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from integrations.outbound.config import ServiceConfig

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"

# Admission verdicts.
OK = "ok"  # send (after waiting `wait` seconds)
REFUSED = "open"  # the breaker refuses: do not send before `retry_at`
PAUSE = "pause"  # the service asked for a pause: wait `wait` seconds, then ask again
REJECT = "reject"  # no budget within limiter_max_wait: do not send before `retry_at`

# Why a transition happened (logged, and returned by both implementations alike).
BY_CONSECUTIVE = "consecutive_failures"
BY_RATE = "failure_rate"
BY_RESET_TIMEOUT = "reset_timeout"
BY_PROBE_FAILED = "probe_failed"
BY_PROBE_SUCCEEDED = "probe_succeeded"


@dataclass
class Breaker:
    state: str = CLOSED
    opened_at: float = 0.0
    fail: int = 0
    success: int = 0
    probe_until: float = 0.0
    trips: int = 0
    window: deque[int] = field(default_factory=deque)


@dataclass
class Bucket:
    tokens: float
    ts: float
    paused: float = 0.0


@dataclass(frozen=True)
class Admission:
    """What the shared state said before an attempt (see the verdicts above). `probe`: this
    call is the half-open breaker's probe. `moved_from`: the breaker state this admission moved
    away from ("" when it moved nothing)."""

    verdict: str
    breaker_state: str
    opened_at: float
    fail_counter: int
    wait: float = 0.0
    retry_at: float = 0.0
    probe: bool = False
    moved_from: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Report:
    """What one attempt reports: its metrics, and whether it failed (None: metrics only, the
    breaker is not told) and whether it was the half-open breaker's probe."""

    metrics: dict[str, float]
    failed: bool | None = None
    probe: bool = False


@dataclass(frozen=True)
class Outcome:
    """What recording one outcome did: the breaker state after it, the state it moved away
    from ("" when none) and why, and the window as it stood (outcomes, failures)."""

    breaker_state: str
    moved_from: str = ""
    reason: str = ""
    seen: int = 0
    failed: int = 0


@dataclass(frozen=True)
class BreakerStatus:
    state: str
    opened_at: float
    fail_counter: int
    trips: int


def admission(breaker: Breaker, bucket: Bucket, cfg: ServiceConfig, now: float) -> Admission:
    """Decide one admission; change `breaker` and `bucket` only when the call is admitted."""
    probe = False
    if breaker.state == OPEN:
        reopens = breaker.opened_at + cfg.breaker_reset_timeout
        if now < reopens:
            return _refused(breaker, reopens)
        probe = True
    elif breaker.state == HALF_OPEN:
        if now < breaker.probe_until:
            return _refused(breaker, breaker.probe_until)
        probe = True
    verdict, wait, retry_at = bucket_take(bucket, cfg, now)
    if verdict != OK:
        return Admission(verdict, breaker.state, breaker.opened_at, breaker.fail, wait, retry_at)
    moved_from = reason = ""
    if probe:
        if breaker.state == OPEN:
            moved_from, reason = OPEN, BY_RESET_TIMEOUT
            breaker.state, breaker.success = HALF_OPEN, 0
        breaker.probe_until = now + cfg.breaker_probe_lease
    return Admission(
        OK,
        breaker.state,
        breaker.opened_at,
        breaker.fail,
        wait,
        0.0,
        probe=probe,
        moved_from=moved_from,
        reason=reason,
    )


def _refused(breaker: Breaker, retry_at: float) -> Admission:
    return Admission(REFUSED, breaker.state, breaker.opened_at, breaker.fail, 0.0, retry_at)


def bucket_take(bucket: Bucket, cfg: ServiceConfig, now: float) -> tuple[str, float, float]:
    """(verdict, wait, retry_at) for one token; the token is taken only on OK."""
    tokens, ts = bucket.tokens, bucket.ts
    if now > ts:
        tokens = min(cfg.limiter_capacity, tokens + (now - ts) * cfg.limiter_refill_rate)
        ts = now
    if bucket.paused > now:
        wait = bucket.paused - now
        return (REJECT if wait > cfg.limiter_max_wait else PAUSE), wait, bucket.paused
    tokens -= 1
    wait = 0.0
    if tokens < 0:
        wait = -tokens / cfg.limiter_refill_rate
        if wait > cfg.limiter_max_wait:
            return REJECT, wait, now + wait
    bucket.tokens, bucket.ts = tokens, ts
    return OK, wait, 0.0


def bucket_pause(bucket: Bucket, until: float) -> None:
    bucket.paused = max(bucket.paused, until)


def bucket_available(bucket: Bucket, cfg: ServiceConfig, now: float) -> float:
    """Tokens available now (refilled, capped; negative while callers hold future tokens)."""
    refilled = bucket.tokens + max(0.0, now - bucket.ts) * cfg.limiter_refill_rate
    return min(cfg.limiter_capacity, refilled)


def record_outcome(
    breaker: Breaker, cfg: ServiceConfig, now: float, *, failed: bool, probe: bool
) -> Outcome:
    """Apply one attempt's outcome to `breaker` (the only place a breaker closes or opens
    on an outcome)."""
    if breaker.state == CLOSED and not probe:
        return _record_closed(breaker, cfg, now, failed=failed)
    if breaker.state == HALF_OPEN and probe:
        if failed:
            _open(breaker, now)
            return Outcome(OPEN, HALF_OPEN, BY_PROBE_FAILED)
        breaker.success += 1
        if breaker.success >= cfg.breaker_success_threshold:
            _close(breaker)
            return Outcome(CLOSED, HALF_OPEN, BY_PROBE_SUCCEEDED)
        breaker.probe_until = 0.0  # the next call may be the next probe
    return Outcome(breaker.state)


def _record_closed(breaker: Breaker, cfg: ServiceConfig, now: float, *, failed: bool) -> Outcome:
    window = breaker.window
    window.appendleft(1 if failed else 0)
    while len(window) > cfg.breaker_window:
        window.pop()
    seen, bad = len(window), sum(window)
    if not failed:
        breaker.fail = 0
        return Outcome(CLOSED, seen=seen, failed=bad)
    breaker.fail += 1
    reason = ""
    if breaker.fail >= cfg.breaker_fail_max:
        reason = BY_CONSECUTIVE
    elif seen >= cfg.breaker_min_calls and bad >= cfg.breaker_failure_rate * seen:
        reason = BY_RATE
    if not reason:
        return Outcome(CLOSED, seen=seen, failed=bad)
    _open(breaker, now)
    return Outcome(OPEN, CLOSED, reason, seen, bad)


def _open(breaker: Breaker, now: float) -> None:
    breaker.state, breaker.opened_at = OPEN, now
    breaker.success, breaker.probe_until = 0, 0.0
    breaker.trips += 1
    breaker.window.clear()


def _close(breaker: Breaker) -> None:
    breaker.state = CLOSED
    breaker.fail = breaker.success = 0
    breaker.probe_until = 0.0
    breaker.window.clear()
