"""Fixtures of the staff API tests: a staff client, a non-staff client, isolated state."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state
from tests.oauth_accounts.factories import make_user
from webhooks.selectors import endpoint_local_cache_clear


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Fresh breakers/metrics, and no cached endpoints or throttle counters between tests."""
    cache.clear()
    endpoint_local_cache_clear()
    with isolated_state(), use_runtime(FakeRuntime().as_runtime()):
        yield
    cache.clear()
    endpoint_local_cache_clear()


@pytest.fixture
def staff_client(db: None) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user("staff-member", is_staff=True))
    return client


@pytest.fixture
def user_client(db: None) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user("plain-user"))
    return client


def csrf_post(client: APIClient, url: str, data: Any = None) -> Any:
    """POST like a browser session would: the CSRF cookie, and the same token as a header."""
    token = secrets.token_hex(16)  # 32 characters, the length of a CSRF secret
    client.cookies["csrftoken"] = token
    return client.post(url, data, format="json", HTTP_X_CSRFTOKEN=token)
