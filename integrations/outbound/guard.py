"""Breaker + limiter + metrics around one attempt at a service, and `guarded_call` for SDKs.

The state and every transition belong to the backend (`state.get_backend()`), which applies
the rules of `rules.py` atomically (a Lua script in Redis, a lock in memory). The guard only
asks before an attempt (`admit`), reports after it (`record`), and logs what changed. No lock
is held across the network call: admission and recording are each one short step.

A process logs the transitions it makes, and the ones it notices another process made (on its
next admission or report), as `integrations.breaker.state_change`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from integrations.core.exceptions import RateLimitExceeded, ServiceUnavailable, TransportError
from integrations.outbound import rules
from integrations.outbound import runtime as runtime_module
from integrations.outbound.config import ServiceConfig, service_config
from integrations.outbound.metrics import latency_bucket
from integrations.outbound.retry import parse_retry_after
from integrations.outbound.runtime import Runtime
from integrations.outbound.state import Backend, FallbackBackend, get_backend

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Pauses asked by the shared state are honoured this many times in a row before giving up.
_MAX_PAUSE_ROUNDS = 4


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class ServiceGuard:
    """The breaker, limiter and metrics of one service, as this process sees them."""

    def __init__(self, service: str, backend: Backend) -> None:
        self.service = service
        self.backend = backend
        self._seen_state = rules.CLOSED

    def state(self) -> str:
        """The breaker state now (closed for a service this process has not called)."""
        status = self.backend.breaker_status(self.service)
        return status.state if status is not None else rules.CLOSED

    def admit(
        self, cfg: ServiceConfig, rt: Runtime, *, method: str = "", url: str = ""
    ) -> rules.Admission:
        """Wait for a token and check the breaker; raise instead of letting the call go out.

        Raises `ServiceUnavailable` (breaker open, or its probe is out) or `RateLimitExceeded`
        (no budget within `limiter_max_wait`, or the service asked for a longer pause).
        """
        context: dict[str, Any] = {"service": self.service, "method": method, "url": url}
        for _ in range(_MAX_PAUSE_ROUNDS):
            admission = self.backend.admit(cfg, rt.clock())
            self._notice(admission.breaker_state, admission.moved_from, admission.reason)
            if admission.verdict == rules.REFUSED:
                raise ServiceUnavailable(retry_at=_utc(admission.retry_at), **context)
            if admission.verdict == rules.REJECT:
                retry_at = _utc(admission.retry_at)
                raise RateLimitExceeded(
                    f"{self.service} rate limit: no budget within {cfg.limiter_max_wait:g}s "
                    f"(limiter_max_wait); retry at {retry_at.isoformat(timespec='seconds')}",
                    retry_at=retry_at,
                    **context,
                )
            if admission.wait > 0:
                rt.sleep(admission.wait)
            if admission.verdict == rules.OK:
                return admission
        raise RateLimitExceeded(
            f"{self.service} rate limit: still paused after {_MAX_PAUSE_ROUNDS} waits",
            **context,
        )

    def record(
        self,
        cfg: ServiceConfig,
        rt: Runtime,
        admission: rules.Admission,
        *,
        duration: float,
        attempt: int,
        error: BaseException | None = None,
        failure: bool = False,
        retrying: bool = False,
    ) -> None:
        """Record one attempt's outcome: breaker, rate window and metrics, in one step.

        `failure` says whether `error` counts against the service (transport errors, timeouts,
        5xx); an `error` that is not a failure (a 4xx, a business error) is a sign of life.
        """
        now = rt.clock()
        metrics = _attempt_metrics(duration, attempt, error, retrying)
        for listener in attempt_listeners:
            listener(service=self.service, error=error, failure=failure, duration=duration)
        quiet = (
            not failure
            and not admission.probe
            and admission.breaker_state == rules.CLOSED
            and admission.fail_counter == 0
        )
        if quiet and isinstance(self.backend, FallbackBackend):
            # Nothing to decide: a success on a quiet closed breaker cannot move it.
            self.backend.record_quietly((cfg, now, rules.Report(metrics, failed=False)))
            return
        report = rules.Report(metrics, failed=failure, probe=admission.probe)
        outcome = self.backend.record(cfg, now, report)
        self._notice(outcome.breaker_state, outcome.moved_from, outcome.reason)
        if outcome.reason == rules.BY_RATE:
            logger.warning(
                "integrations.breaker.failure_rate_exceeded service=%s failed=%d of=%d",
                self.service,
                outcome.failed,
                outcome.seen,
                extra={
                    "event": "integrations.breaker.failure_rate_exceeded",
                    "service": self.service,
                    "failed": outcome.failed,
                    "seen": outcome.seen,
                },
            )

    def pause(self, cfg: ServiceConfig, rt: Runtime, seconds: float) -> None:
        """The service said 429 + Retry-After: every process holds off until then."""
        now = rt.clock()
        self.backend.pause(cfg, now + seconds, now)

    def _notice(self, state: str, moved_from: str, reason: str) -> None:
        """Log a transition this process made (`moved_from` set) or noticed."""
        if moved_from:
            previous, noticed = moved_from, False
        elif state != self._seen_state:
            previous, noticed = self._seen_state, True
        else:
            return
        self._seen_state = state
        logger.log(
            logging.WARNING if state == rules.OPEN else logging.INFO,
            "integrations.breaker.state_change service=%s from=%s to=%s",
            self.service,
            previous,
            state,
            extra={
                "event": "integrations.breaker.state_change",
                "service": self.service,
                "from_state": previous,
                "to_state": state,
                "reason": reason or ("changed by another process" if noticed else ""),
            },
        )


def _attempt_metrics(
    duration: float, attempt: int, error: BaseException | None, retrying: bool
) -> dict[str, float]:
    metrics: dict[str, float] = {
        "attempts": 1,
        latency_bucket(duration * 1000.0): 1,
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
    return metrics


# Called once per attempt with keyword arguments `service`, `error`, `failure`, `duration`
# (seconds); must not raise. `integrations.ops` appends its Prometheus totals here.
attempt_listeners: list[Callable[..., None]] = []

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
