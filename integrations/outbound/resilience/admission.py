"""Values shared by the state backends: breaker state names, the admission verdict, the
latency histogram buckets."""

from __future__ import annotations

from dataclasses import dataclass

import pybreaker

STATE_CLOSED = pybreaker.STATE_CLOSED
STATE_OPEN = pybreaker.STATE_OPEN
STATE_HALF_OPEN = pybreaker.STATE_HALF_OPEN

# Latency histogram bucket upper bounds, in milliseconds (the last bucket is open-ended).
LATENCY_BUCKETS_MS: tuple[int, ...] = (
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
)  # fmt: skip
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
