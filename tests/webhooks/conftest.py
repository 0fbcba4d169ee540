"""Fixtures of the webhooks tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache

from webhooks import handlers
from webhooks.selectors import endpoint_local_cache_clear


@pytest.fixture(autouse=True)
def _clear_endpoint_cache() -> Iterator[None]:
    cache.clear()
    endpoint_local_cache_clear()
    yield
    cache.clear()
    endpoint_local_cache_clear()


@pytest.fixture
def register_handler() -> Iterator[Callable[..., Callable[..., object]]]:
    """Register a handler for the test only (removed afterwards)."""
    added: list[tuple[tuple[str, str], Callable[..., object]]] = []

    def _register(
        provider: str, event_type: str, func: Callable[..., object]
    ) -> Callable[..., object]:
        handlers.register(provider, event_type)(func)
        added.append(((provider, event_type), func))
        return func

    yield _register
    for key, func in added:
        registered = handlers._HANDLERS.get(key, [])
        if func in registered:
            registered.remove(func)
