"""Brute-force limits on the login forms, the OAuth connect start and the API.

The suite's settings raise every limit out of the way; these tests set real rates with the
`settings` fixture (rates are read per request).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from integrations.core import ratelimits
from tests.oauth_accounts.factories import make_user

pytestmark = pytest.mark.django_db

# Generated per run: no password-looking literal in the repository.
PASSWORD = secrets.token_urlsafe(16)
WRONG = secrets.token_urlsafe(16)


@pytest.fixture
def victim() -> Any:
    user = make_user("victim", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_login_is_locked_after_too_many_attempts_from_one_ip(client, settings, victim, url):
    settings.RATELIMIT_LOGIN = "3/m"

    for _ in range(3):
        response = client.post(url, {"username": "victim", "password": WRONG})
        assert response.status_code == 200  # the form again, with an error

    blocked = client.post(url, {"username": "victim", "password": PASSWORD})
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session  # even the right password is refused now
    assert client.get(url).status_code == 200  # the page itself still shows


def test_both_login_forms_share_one_counter(client, settings, victim):
    settings.RATELIMIT_LOGIN = "2/m"

    client.post("/accounts/login/", {"username": "victim", "password": WRONG})
    client.post("/admin/login/", {"username": "victim", "password": WRONG})

    assert client.post("/admin/login/", {"username": "victim"}).status_code == 429
    assert client.post("/accounts/login/", {"username": "victim"}).status_code == 429


def _login(client: Any, password: str, ip: str, username: str = "victim") -> int:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )
    return int(response.status_code)


def test_a_username_flood_from_one_ip_does_not_lock_out_the_owner_elsewhere(
    client, settings, victim
):
    settings.RATELIMIT_LOGIN_USERNAME = "3/m"
    attacker, owner = "198.51.100.7", "203.0.113.20"

    assert [_login(client, WRONG, attacker) for _ in range(4)] == [200, 200, 200, 429]
    assert _login(client, PASSWORD, attacker) == 429  # that address is locked for that name
    assert _login(client, WRONG, attacker, username="someone-else") == 200

    assert _login(client, PASSWORD, owner) == 302  # the owner, from elsewhere, gets in


def test_a_username_has_a_global_ceiling_over_every_ip(client, settings, victim):
    settings.RATELIMIT_LOGIN_USERNAME_GLOBAL = "3/m"

    for n in range(3):
        assert _login(client, WRONG, f"198.51.100.{n}") == 200

    assert _login(client, PASSWORD, "198.51.100.99") == 429
    assert _login(client, WRONG, "198.51.100.99", username="someone-else") == 200


def test_attempts_refused_per_ip_do_not_count_towards_the_global_ceiling(client, settings, victim):
    settings.RATELIMIT_LOGIN = "2/m"
    settings.RATELIMIT_LOGIN_USERNAME_GLOBAL = "5/m"
    # The limits are fixed one-minute windows: start well inside one, so the 20 attempts
    # (well under a second) never straddle two and get two allowances.
    while time.time() % 60 > 55:
        time.sleep(0.5)

    statuses = [_login(client, WRONG, "198.51.100.7") for _ in range(20)]

    assert statuses.count(200) == 2
    assert _login(client, PASSWORD, "203.0.113.20") == 302  # 2 of 5 used, not 20


def test_the_username_is_counted_case_insensitively(client, settings, victim):
    settings.RATELIMIT_LOGIN_USERNAME_GLOBAL = "2/m"

    assert _login(client, WRONG, "198.51.100.1", username="Victim") == 200
    assert _login(client, WRONG, "198.51.100.2", username=" victim ") == 200
    assert _login(client, PASSWORD, "198.51.100.3") == 429


def test_login_works_below_the_limit(client, settings, victim):
    settings.RATELIMIT_LOGIN = "3/m"

    response = client.post("/accounts/login/", {"username": "victim", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(victim.pk)


def test_starting_oauth_connections_is_limited_per_user(client, settings):
    settings.OAUTH_GITHUB_CLIENT_ID = "github-client-test"
    settings.OAUTH_GITHUB_CLIENT_SECRET = f"fake-secret-{secrets.token_hex(4)}"
    settings.RATELIMIT_CONNECT = "2/m"
    client.force_login(make_user("connector"))

    for _ in range(2):
        assert client.post("/oauth/login/github/").status_code == 302

    assert client.post("/oauth/login/github/").status_code == 429


def test_the_api_is_throttled_per_user(client, settings):
    settings.RATELIMIT_API_USER = "3/m"
    client.force_login(make_user("api-user"))

    statuses = [client.get("/api/connections/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_an_unreachable_cache_never_locks_everyone_out(
    client, settings, victim, monkeypatch, caplog
):
    settings.RATELIMIT_LOGIN = "1/m"
    monkeypatch.setattr(ratelimits, "_outage_logged", False)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(cache, "add", down)
    monkeypatch.setattr(cache, "incr", down)
    caplog.set_level(logging.WARNING, logger="integrations.core.ratelimits")

    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "victim", "password": WRONG})
        assert response.status_code == 200
    ok = client.post("/accounts/login/", {"username": "victim", "password": PASSWORD})

    assert ok.status_code == 302
    outages = [r for r in caplog.records if r.getMessage() == "rate_limit_cache_unavailable"]
    assert len(outages) == 1  # logged once per outage, not per request
