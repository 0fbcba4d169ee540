"""In-process breaker, limiter and metrics state: the rules of `rules.py` on local values.

Used when REDIS_URL is unset (one process, one breaker and one budget per service), and as the
fallback while Redis does not answer. Every transition is handed to `on_transition` (the
embedded mode journals it in the database so that other processes, a shell's
`integrations_health` among them, can see it; see `journal.py`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from integrations.outbound import rules
from integrations.outbound.config import ServiceConfig
from integrations.outbound.metrics import METRICS_BUCKET_SECONDS, admission_metrics

# service, breaker state left, breaker state entered, reason, the breaker after the change.
TransitionHook = Callable[[str, str, str, str, rules.BreakerStatus], None]


class MemoryBackend:
    """One lock around every service's breaker, bucket and counters in this process."""

    kind = "memory"

    def __init__(self, *, on_transition: TransitionHook | None = None) -> None:
        self._lock = threading.Lock()
        self._breakers: dict[str, rules.Breaker] = {}
        self._buckets: dict[str, rules.Bucket] = {}
        self._metrics: dict[str, dict[int, dict[str, float]]] = {}
        self.on_transition = on_transition

    def _breaker(self, service: str) -> rules.Breaker:
        breaker = self._breakers.get(service)
        if breaker is None:
            breaker = self._breakers[service] = rules.Breaker(window=deque())
        return breaker

    def _bucket(self, cfg: ServiceConfig, now: float) -> rules.Bucket:
        bucket = self._buckets.get(cfg.name)
        if bucket is None:
            bucket = self._buckets[cfg.name] = rules.Bucket(tokens=cfg.limiter_capacity, ts=now)
        return bucket

    def admit(self, cfg: ServiceConfig, now: float) -> rules.Admission:
        with self._lock:
            breaker = self._breaker(cfg.name)
            result = rules.admission(breaker, self._bucket(cfg, now), cfg, now)
            self._bump(cfg.name, now, admission_metrics(result.verdict, result.wait))
            status = _status(breaker)
        if result.moved_from:
            self._tell(cfg.name, result.moved_from, result.breaker_state, result.reason, status)
        return result

    def record(self, cfg: ServiceConfig, now: float, report: rules.Report) -> rules.Outcome:
        """Add the metrics; unless `report.failed` is None, apply the outcome to the breaker."""
        with self._lock:
            self._bump(cfg.name, now, report.metrics)
            breaker = self._breaker(cfg.name)
            if report.failed is None:
                return rules.Outcome(breaker.state)
            outcome = rules.record_outcome(
                breaker, cfg, now, failed=report.failed, probe=report.probe
            )
            status = _status(breaker)
        if outcome.moved_from:
            self._tell(cfg.name, outcome.moved_from, outcome.breaker_state, outcome.reason, status)
        return outcome

    def pause(self, cfg: ServiceConfig, until: float, now: float) -> None:
        with self._lock:
            rules.bucket_pause(self._bucket(cfg, now), until)
            self._bump(cfg.name, now, {"rl_pauses": 1})

    def _tell(
        self, service: str, left: str, entered: str, why: str, status: rules.BreakerStatus
    ) -> None:
        if self.on_transition is not None:
            self.on_transition(service, left, entered, why, status)

    def _bump(self, service: str, now: float, metrics: dict[str, float]) -> None:
        if not metrics:
            return
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
            return rules.bucket_available(bucket, cfg, now), bucket.paused

    def breaker_status(self, service: str) -> rules.BreakerStatus | None:
        """None when this process has not called `service` (it has no breaker for it)."""
        with self._lock:
            breaker = self._breakers.get(service)
            return _status(breaker) if breaker is not None else None


def _status(breaker: rules.Breaker) -> rules.BreakerStatus:
    return rules.BreakerStatus(breaker.state, breaker.opened_at, breaker.fail, breaker.trips)
