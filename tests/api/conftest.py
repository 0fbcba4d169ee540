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


# What the staff API asks for (the admin's permissions for the same data and actions).
STAFF_API_PERMISSIONS = (
    "liaison_webhooks.view_webhookevent",
    "liaison_webhooks.replay_webhookevent",
    "liaison_webhooks.view_webhookendpoint",
    "liaison_oauth.view_connectedaccount",
    "liaison_ops.view_health",
)


def grant(user: Any, *names: str) -> Any:
    """Give `user` the permissions `"<app_label>.<codename>"`."""
    from django.contrib.auth.models import Permission

    for name in names:
        app_label, codename = name.split(".", 1)
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def staff_client(db: None) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(grant(make_user("staff-member", is_staff=True), *STAFF_API_PERMISSIONS))
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
