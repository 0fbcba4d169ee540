"""Breaker + limiter + metrics around one attempt at a service, and `guarded_call` for SDKs.

The circuit breaker's state machine is pybreaker's (typed configuration, `exclude` so 4xx and
429 never count as failures, listeners, pluggable storage). Its `call()` holds a lock for the
whole guarded call, which would serialise every call a process makes to a service, so the
network call never runs inside it: admission is decided from the shared state first
(`ServiceGuard.admit`), the call runs without any lock, and its outcome is then replayed
through `CircuitBreaker.call` with a function that only returns or re-raises that outcome
(`ServiceGuard.record`), so the lock covers bookkeeping only. A successful attempt on a closed
breaker with no failures counted needs no state change and skips pybreaker altogether.

pybreaker only counts consecutive failures; the failure-rate rule (default: at least 50 % of
the last 20 attempts, once at least 10 were seen) is a listener over a sliding window kept in
the same backend as the breaker (so it is shared too).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pybreaker

from integrations.core.exceptions import RateLimitExceeded, ServiceUnavailable, TransportError
from integrations.outbound.resilience import runtime as runtime_module
from integrations.outbound.resilience.admission import (
    STATE_CLOSED,
    STATE_HALF_OPEN,
    STATE_OPEN,
    Admission,
    latency_bucket,
)
from integrations.outbound.resilience.config import ServiceConfig, service_config
from integrations.outbound.resilience.runtime import Runtime
from integrations.outbound.resilience.state import Backend, get_backend

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Pauses asked by the shared state are honoured this many times in a row before giving up.
_MAX_PAUSE_ROUNDS = 4


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class ReplayedOutcome(Exception):
    """Stands for an attempt's outcome inside pybreaker's bookkeeping (never escapes)."""

    def __init__(self, error: BaseException | None, *, counts: bool) -> None:
        super().__init__(type(error).__name__ if error is not None else "ok")
        self.counts = counts


def _not_a_failure(exc: BaseException) -> bool:
    """pybreaker `exclude` rule: only outcomes classified as failures count."""
    return isinstance(exc, ReplayedOutcome) and not exc.counts


def _replay(outcome: ReplayedOutcome | None) -> None:
    if outcome is not None:
        raise outcome


class BreakerStateLogger(pybreaker.CircuitBreakerListener):
    """Logs every state change this process makes or notices (another process's change is
    noticed on this process's next call)."""

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        old = old_state.name if old_state is not None else None
        level = logging.WARNING if new_state.name == STATE_OPEN else logging.INFO
        logger.log(
            level,
            "integrations.breaker.state_change service=%s from=%s to=%s",
            cb.name,
            old,
            new_state.name,
            extra={
                "event": "integrations.breaker.state_change",
                "service": cb.name,
                "from_state": old,
                "to_state": new_state.name,
            },
        )


class FailureRateListener(pybreaker.CircuitBreakerListener):
    """Opens the breaker when the failure rate over the sliding window passes the threshold."""

    def __init__(self, guard: ServiceGuard) -> None:
        self.guard = guard

    def success(self, cb: pybreaker.CircuitBreaker) -> None:
        cfg = self.guard.config
        self.guard.backend.push_outcome(self.guard.service, False, cfg.breaker_window)

    def failure(self, cb: pybreaker.CircuitBreaker, exc: BaseException) -> None:
        cfg = self.guard.config
        seen, failed = self.guard.backend.push_outcome(self.guard.service, True, cfg.breaker_window)
        if seen < cfg.breaker_min_calls or failed < cfg.breaker_failure_rate * seen:
            return
        # The consecutive-failure rule (pybreaker's own) trips right after this listener when
        # it applies; only open here when it will not.
        if cb.fail_counter >= cb.fail_max or cb.current_state != STATE_CLOSED:
            return
        logger.warning(
            "integrations.breaker.failure_rate_exceeded service=%s failed=%d of=%d",
            self.guard.service,
            failed,
            seen,
            extra={
                "event": "integrations.breaker.failure_rate_exceeded",
                "service": self.guard.service,
                "failed": failed,
                "seen": seen,
            },
        )
        cb.open()

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        # A breaker that closes starts a fresh window: old failures must not re-trip it.
        if old_state is not None and new_state.name == STATE_CLOSED:
            self.guard.backend.reset_window(self.guard.service)


class ServiceGuard:
    """The breaker, limiter and metrics of one service in this process (state in `backend`)."""

    def __init__(self, service: str, backend: Backend) -> None:
        self.service = service
        self.backend = backend
        self.config = service_config(service)
        self.storage = backend.circuit_storage(service)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=self.config.breaker_fail_max,
            reset_timeout=self.config.breaker_reset_timeout,
            success_threshold=self.config.breaker_success_threshold,
            # Only transport errors, timeouts and 5xx count (the caller classifies: 4xx are the
            # caller's problem, a 429 is the limiter's, an SDK's business errors are not ours).
            exclude=[_not_a_failure],
            listeners=[BreakerStateLogger(), FailureRateListener(self)],
            state_storage=self.storage,
            name=service,
            throw_new_error_on_trip=False,
        )
        self._seen_state = STATE_CLOSED

    def _configure(self, cfg: ServiceConfig, rt: Runtime) -> None:
        if cfg is not self.config:
            self.config = cfg
            self.breaker.fail_max = cfg.breaker_fail_max
            self.breaker.reset_timeout = cfg.breaker_reset_timeout
            self.breaker.success_threshold = cfg.breaker_success_threshold
        self.storage.clock = rt.clock

    def admit(
        self, cfg: ServiceConfig, rt: Runtime, *, method: str = "", url: str = ""
    ) -> Admission:
        """Wait for a token and check the breaker; raise instead of letting the call go out.

        Raises `ServiceUnavailable` (breaker open) or `RateLimitExceeded` (no budget within
        `limiter_max_wait`, or the service asked for a longer pause).
        """
        self._configure(cfg, rt)
        context: dict[str, Any] = {"service": self.service, "method": method, "url": url}
        for _ in range(_MAX_PAUSE_ROUNDS):
            admission = self.backend.admit(cfg, rt.clock())
            self._notice(admission.breaker_state)
            if admission.verdict == "open":
                raise ServiceUnavailable(
                    retry_at=_utc(admission.opened_at + cfg.breaker_reset_timeout), **context
                )
            if admission.verdict == "reject":
                retry_at = _utc(admission.retry_at)
                raise RateLimitExceeded(
                    f"{self.service} rate limit: no budget within {cfg.limiter_max_wait:g}s "
                    f"(limiter_max_wait); retry at {retry_at.isoformat(timespec='seconds')}",
                    retry_at=retry_at,
                    **context,
                )
            if admission.wait > 0:
                rt.sleep(admission.wait)
            if admission.verdict == "pause":
                continue
            if admission.breaker_state == STATE_OPEN:
                # The reset timeout elapsed: this attempt is a trial call.
                self.breaker.half_open()
                self._seen_state = STATE_HALF_OPEN
            return admission
        raise RateLimitExceeded(
            f"{self.service} rate limit: still paused after {_MAX_PAUSE_ROUNDS} waits",
            **context,
        )

    def _notice(self, state: str) -> None:
        if state != self._seen_state:
            self._seen_state = state
            # Reading pybreaker's `state` makes it notice the shared change and tell listeners.
            _ = self.breaker.state

    def record(
        self,
        cfg: ServiceConfig,
        rt: Runtime,
        admission: Admission,
        *,
        duration: float,
        attempt: int,
        error: BaseException | None = None,
        failure: bool = False,
        retrying: bool = False,
    ) -> None:
        """Record one attempt's outcome: breaker bookkeeping, rate window and metrics.

        `failure` says whether `error` counts against the service (transport errors, timeouts,
        5xx); an `error` that is not a failure (a 4xx) counts as a sign of life.
        """
        now = rt.clock()
        ms = duration * 1000.0
        metrics: dict[str, float] = {
            "attempts": 1,
            latency_bucket(ms): 1,
            "latency_us_sum": round(duration * 1_000_000),
        }
        if attempt == 1:
            metrics["calls"] = 1
        if error is None:
            metrics["ok"] = 1
        else:
            metrics[f"err:{type(error).__name__}"] = 1
        if retrying:
            metrics["retries"] = 1
        quiet = admission.breaker_state == STATE_CLOSED and admission.fail_counter == 0
        if not failure and quiet:
            self.backend.record(self.service, now, metrics, outcome=True, window=cfg.breaker_window)
            return
        self.backend.record(self.service, now, metrics)
        if self.breaker.current_state == STATE_OPEN:
            return  # opened meanwhile (another thread or process): nothing left to decide
        outcome = ReplayedOutcome(error, counts=failure) if error is not None else None
        # The real outcome is already in the caller's hands; only the bookkeeping matters.
        with contextlib.suppress(ReplayedOutcome, pybreaker.CircuitBreakerError):
            self.breaker.call(_replay, outcome)
        self._seen_state = self.breaker.current_state

    def pause(self, cfg: ServiceConfig, rt: Runtime, seconds: float) -> None:
        """The service said 429 + Retry-After: every process holds off until then."""
        now = rt.clock()
        self.backend.pause(self.service, now + seconds, cfg, now)


_guards: dict[tuple[int, str], ServiceGuard] = {}
_guards_lock = threading.Lock()


def get_guard(service: str) -> ServiceGuard:
    backend = get_backend()
    key = (id(backend), service)
    guard = _guards.get(key)
    if guard is None or guard.backend is not backend:
        with _guards_lock:
            guard = _guards.get(key)
            if guard is None or guard.backend is not backend:
                guard = _guards[key] = ServiceGuard(service, backend)
    return guard


def default_is_failure(exc: BaseException) -> bool:
    """Without a classifier, transport-level problems and 5xx-looking errors count."""
    if isinstance(exc, (TransportError | ServiceUnavailable, ConnectionError | TimeoutError)):
        return True
    status = _status_of(exc)
    return status is not None and status >= 500


def _status_of(exc: BaseException) -> int | None:
    for attribute in ("http_status", "status_code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int):
            return value
    return None


def _retry_after_of(exc: BaseException) -> float | None:
    from integrations.outbound.http.retry import parse_retry_after

    headers = getattr(exc, "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    return parse_retry_after(headers.get("Retry-After"), now=runtime_module.current().clock())


def guarded_call(
    service: str,
    fn: Callable[..., T],
    *args: Any,
    is_failure: Callable[[BaseException], bool] | None = None,
    operation: str | None = None,
    **kwargs: Any,
) -> T:
    """Call `fn(*args, **kwargs)` behind `service`'s breaker, limiter and metrics.

    For SDKs that do their own HTTP and retries (Stripe's `StripeClient`): no retries here.
    Raises `ServiceUnavailable` without calling `fn` while the breaker is open, and
    `RateLimitExceeded` when no budget comes within `limiter_max_wait`. Exceptions from `fn`
    propagate unchanged; `is_failure(exc)` says whether one counts against the breaker
    (default: `default_is_failure`). An exception reporting HTTP 429 (`http_status`/`status`)
    pauses the service's limiter for its `Retry-After` (1 s when absent).
    """
    rt = runtime_module.current()
    cfg = service_config(service)
    guard = get_guard(service)
    label: str = operation or str(getattr(fn, "__qualname__", "call"))
    admission = guard.admit(cfg, rt, method=label)
    started = rt.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        duration = rt.perf_counter() - started
        failed = (is_failure or default_is_failure)(exc)
        guard.record(cfg, rt, admission, duration=duration, attempt=1, error=exc, failure=failed)
        if _status_of(exc) == 429:
            guard.pause(cfg, rt, min(_retry_after_of(exc) or 1.0, cfg.retry_after_max))
        _log_guarded(service, label, duration, error=exc, failure=failed)
        raise
    duration = rt.perf_counter() - started
    guard.record(cfg, rt, admission, duration=duration, attempt=1)
    _log_guarded(service, label, duration)
    return result


def _log_guarded(
    service: str,
    operation: str,
    duration: float,
    *,
    error: BaseException | None = None,
    failure: bool = False,
) -> None:
    outcome = "ok" if error is None else type(error).__name__
    logger.log(
        logging.WARNING if failure else logging.INFO,
        "integrations.guarded_call service=%s operation=%s outcome=%s duration_ms=%.1f",
        service,
        operation,
        outcome,
        duration * 1000.0,
        extra={
            "event": "integrations.guarded_call",
            "service": service,
            "operation": operation,
            "outcome": outcome,
            "duration_ms": round(duration * 1000.0, 1),
        },
    )
