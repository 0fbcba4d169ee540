"""Test support for code that calls out through `integrations.outbound` (also importable as
`integrations.outbound.resilience.testing`).

    fake = FakeRuntime()
    with isolated_state(), use_runtime(fake.as_runtime()):
        ...   # fresh breakers, budgets and metrics; sleeps advance `runtime` instead of waiting

Used by Liaison's own tests; other apps' tests may use it the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from django.test import override_settings

from integrations.outbound import conf
from integrations.outbound.runtime import Runtime
from integrations.outbound.state import FallbackBackend, get_backend


@dataclass
class FakeRuntime:
    """A clock that only moves when something sleeps (or a test calls `advance`).

    `jitter` picks where in [low, high] the backoff draw lands: 1.0 = the upper bound.
    """

    now: float = 1_700_000_000.0
    jitter: float = 1.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.jitter

    def perf_counter(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def as_runtime(self) -> Runtime:
        return Runtime(
            clock=self.clock, sleep=self.sleep, uniform=self.uniform, perf_counter=self.perf_counter
        )


@contextmanager
def isolated_state(*, redis_url: str | None = None) -> Iterator[str]:
    """Fresh breaker, limiter and metrics state for the duration: a unique key prefix (and so
    new in-process state too). `redis_url` overrides REDIS_URL ("" for in-process state).
    Yields the prefix; Redis keys under it are deleted at the end."""
    prefix = f"test:{uuid.uuid4().hex[:12]}"
    overrides: dict[str, str] = {"INTEGRATIONS_STATE_PREFIX": prefix}
    if redis_url is not None:
        overrides["REDIS_URL"] = redis_url
    with override_settings(**overrides):
        url = conf.redis_url()
        try:
            yield prefix
        finally:
            if url:
                backend = get_backend()
                if isinstance(backend, FallbackBackend):
                    backend.recorder.flush()  # records still in flight land before the cleanup
                _delete_keys(url, prefix)


def _delete_keys(url: str, prefix: str) -> None:
    import redis

    with suppress(redis.RedisError):  # Redis gone (a test stopped it): nothing to clean
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()
