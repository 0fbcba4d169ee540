"""Fixtures of the fault tests, and the summary of the figures they report.

Each test records its counts with `report(name, **counts)`: they are printed at once (visible
with `-s`) and again in the terminal summary at the end of the run, so CI's output shows them
without `-s`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache

from webhooks.selectors import endpoint_local_cache_clear

_FIGURES: list[str] = []

Report = Callable[..., None]


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    """`report(title, **counts)`: print the counts now and in the end-of-run summary."""

    def _report(title: str, **counts: object) -> None:
        line = f"{request.node.name}: {title}: " + ", ".join(f"{k}={v}" for k, v in counts.items())
        print(line)
        _FIGURES.append(line)

    return _report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for line in _FIGURES:
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _clear_endpoint_cache() -> Iterator[None]:
    """Endpoints live in the shared cache; the flushed test database must not be shadowed."""
    cache.clear()
    endpoint_local_cache_clear()
    yield
    cache.clear()
    endpoint_local_cache_clear()
