"""Login limits hold across processes (issue 18, item 7).

Two gunicorn servers (the shipped configuration, one worker each) run the reference project's
real settings, with their documented limits, and share Redis. Wrong passwords for one account
sent from one address, alternating between the two servers, are answered until the documented
per-IP limit (RATELIMIT_LOGIN, 10/m) in total, not per process: the limit is not doubled.
"""

from __future__ import annotations

import re
import runpy
import secrets
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django_ratelimit.core import _get_window, _split_rate

from tests.oauth_accounts.factories import make_user
from tests.reliability.servers import WebServer, running, service_env, start_shipped_server

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"

PASSWORD = secrets.token_urlsafe(16)
DOCUMENTED_PER_IP = "10/m"  # config/settings.py and README
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _production_env(database_name: str) -> dict[str, str]:
    """The real settings (not the suite's raised limits), over plain HTTP on loopback."""
    return service_env(
        database_name=database_name,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        REDIS_URL=settings.REDIS_URL,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
    )


def _wait_clear_of_the_window_edge(limit_seconds: int, *, margin: float = 8.0) -> None:
    """django-ratelimit counts in fixed windows (offset per key): start well inside one."""
    while True:
        window = _get_window("127.0.0.1", limit_seconds)
        if window - time.time() > margin:
            return
        time.sleep(0.5)


def _attempt(session: requests.Session, server: WebServer, token: str, password: str) -> int:
    response = session.post(
        f"{server.base_url}/accounts/login/",
        data={"username": "owner", "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code


@pytest.mark.parametrize(("redis_url", "workers"), [("", 1), ("redis://127.0.0.1:1/0", 2)])
def test_the_shipped_server_runs_one_process_unless_state_is_shared(
    monkeypatch, redis_url, workers
):
    """Without Redis, limits live in each process: several workers would each count their own."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)

    config = runpy.run_path(str(SHIPPED_CONFIG))

    assert config["workers"] == workers
    assert config["worker_class"] == "gthread"
    assert config["threads"] >= 50  # more than the slow clients the reliability test opens


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_per_ip_login_limit_is_shared_by_two_processes(tmp_path: Path):
    assert settings.REDIS_URL
    user = make_user("owner")
    user.set_password(PASSWORD)
    user.save()
    env = _production_env(connection.settings_dict["NAME"])
    first = start_shipped_server(env, log=tmp_path / "first.log")
    with running(first):
        second = start_shipped_server(env, log=tmp_path / "second.log")
        with running(second):
            session = requests.Session()
            page = session.get(f"{first.base_url}/accounts/login/", timeout=10)
            token = _CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            count, period = _split_rate(DOCUMENTED_PER_IP)
            _wait_clear_of_the_window_edge(period)

            servers = (first, second)
            statuses = [
                _attempt(session, servers[n % 2], token, f"wrong-{n}") for n in range(2 * count)
            ]
            right_password = _attempt(session, second, token, PASSWORD)

    answered = [s for s in statuses if s != 429]
    print(
        f"login limit across two processes: documented={DOCUMENTED_PER_IP} "
        f"attempts={len(statuses)} answered={len(answered)} refused={statuses.count(429)}"
    )
    assert set(answered) == {200}, statuses  # the form again, with an error
    assert len(answered) == count, statuses  # not 2 * count
    assert statuses[:count] == [200] * count
    assert right_password == 429  # this address is locked out for the rest of the window
