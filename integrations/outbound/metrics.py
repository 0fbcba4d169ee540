"""The per-minute counters every attempt adds to, and the latency histogram's buckets."""

from __future__ import annotations

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


def admission_metrics(verdict: str, wait: float) -> dict[str, float]:
    """What an admission adds to the counters (both backends alike)."""
    if verdict == "open":
        return {"rejected_open": 1}
    if verdict == "reject":
        return {"rl_rejected": 1}
    if verdict != "ok":
        return {}
    if wait > 0:
        # Rounded half up, as the Lua script does.
        return {"admitted": 1, "rl_waits": 1, "rl_wait_ms": int(wait * 1000 + 0.5)}
    return {"admitted": 1}
