"""The clock, sleeper and jitter source of the outbound layer, injectable for tests.

`current()` returns the process default; tests swap it with `use_runtime(...)` (or pass a
`Runtime` to `ServiceClient`) so that no test sleeps for a real backoff delay.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_random = secrets.SystemRandom()


@dataclass(frozen=True)
class Runtime:
    # Wall-clock seconds: shared deadlines (breaker opened-at, limiter refill) are compared
    # across processes, so this must be the same clock everywhere.
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = field(default=_random.uniform)
    # Durations (latency) only.
    perf_counter: Callable[[], float] = time.perf_counter


_default = Runtime()


def current() -> Runtime:
    return _default


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Make `runtime` the process default for the duration (tests)."""
    global _default
    previous, _default = _default, runtime
    try:
        yield runtime
    finally:
        _default = previous
