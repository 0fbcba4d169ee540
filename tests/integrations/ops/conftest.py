"""Fresh outbound state, alert state and history for each observability test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.ops.alerts import alerts_state_clear
from integrations.ops.history import outbound_history_clear
from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state

BASE = "https://api.acme.test"


@pytest.fixture
def fake(settings) -> Iterator[FakeRuntime]:
    """A declared test service `acme` whose breaker opens after two failures; in-process or
    Redis state following REDIS_URL (services mode shares it through Redis)."""
    settings.INTEGRATIONS_SERVICES = {
        "acme": {"base_url": BASE, "retries": 0, "breaker_fail_max": 2, "breaker_min_calls": 100}
    }
    runtime = FakeRuntime()
    alerts_state_clear()
    outbound_history_clear()
    with isolated_state(), use_runtime(runtime.as_runtime()):
        yield runtime
    alerts_state_clear()
    outbound_history_clear()
