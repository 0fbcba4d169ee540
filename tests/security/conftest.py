"""Fixtures of the security behaviour tests: users, a staff superuser, clean rate counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests.oauth_accounts.factories import make_user


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters and cached endpoints live in the cache: start and end clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db: None) -> Any:
    return make_user(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client: Any, staff: Any) -> Any:
    client.force_login(staff)
    return client
