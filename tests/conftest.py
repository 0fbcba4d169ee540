"""Shared fixtures and the two test modes.

Embedded mode (no service variables): SQLite, in-process state, eager tasks. Tests marked
`postgres`, `redis` or `celery_worker` skip, each with the reason.

Services mode (`LIAISON_REQUIRE_SERVICES=1` with DATABASE_URL=postgres://…, REDIS_URL and
CELERY_BROKER_URL set): every test must run; the session fails if any test was skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("LIAISON_REQUIRE_SERVICES") == "1"


def _database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _redis_answers() -> bool:
    url = settings.REDIS_URL
    if not url:
        return False
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError:
        return False
    return True


def _broker_is_redis() -> bool:
    return os.environ.get("CELERY_BROKER_URL", "").startswith("redis")


CHROMIUM = Path("/usr/bin/chromium")


def _browser_missing() -> str | None:
    """Why the real-browser tests cannot run here (None when they can)."""
    if not CHROMIUM.exists():
        return f"needs Debian's chromium at {CHROMIUM}: apt-get install chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright Python package: pip install -e '.[dev]'"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = {}
    if not _database_is_postgres():
        reasons["postgres"] = "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if not _redis_answers():
        reasons["redis"] = "needs Redis: set REDIS_URL=redis://… to a running server"
    if not (_database_is_postgres() and _broker_is_redis()):
        reasons["celery_worker"] = (
            "needs a real Celery worker: set CELERY_BROKER_URL=redis://… and a PostgreSQL "
            "DATABASE_URL"
        )
    browser_missing = _browser_missing()
    if browser_missing:
        reasons["browser"] = browser_missing
    for item in items:
        for marker, reason in reasons.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_SERVICES:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(
                f"LIAISON_REQUIRE_SERVICES=1: {skipped} test(s) skipped; every test must run "
                "against the real services.",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_CONFIGURED_REDIS_URL = settings.REDIS_URL


@pytest.fixture(autouse=True)
def _no_leaked_redis_url() -> Iterator[None]:
    """Fail where a test leaks an overridden REDIS_URL into the ones after it.

    (pytest-django's `settings` fixture, first used inside an `override_settings` block,
    restores the overridden value at teardown.)
    """
    assert settings.REDIS_URL == _CONFIGURED_REDIS_URL, "REDIS_URL leaked from an earlier test"
    yield
    assert settings.REDIS_URL == _CONFIGURED_REDIS_URL, "this test leaked an overridden REDIS_URL"


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker in its own process, on the test database and the real broker.

    The test process stops running tasks eagerly for the duration, so `.delay()` goes through
    the broker. The worker is stopped by PID at the end (SIGTERM, then SIGKILL).
    """
    from celery import current_app
    from django.db import connection

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "LIAISON_TEST_CELERY_EAGER": "0",
            "DATABASE_URL": _database_url_for(connection.settings_dict["NAME"]),
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "CELERY_VISIBILITY_TIMEOUT": os.environ.get("CELERY_VISIBILITY_TIMEOUT", "5"),
        }
    )
    proc = start_celery_worker(env)
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        yield proc
    finally:
        current_app.conf.task_always_eager = previous
        stop_process(proc)


def _database_url_for(name: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}"


def start_celery_worker(
    env: dict[str, str], *, timeout: float = 30.0, extra_args: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start `celery worker` and wait until it answers a control ping.

    `extra_args` go to `celery worker` (e.g. `--include=tests.some_module` to register test
    handlers in the worker process).
    """
    from celery import current_app

    hostname = f"test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={hostname}",
            *extra_args,
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early with {proc.returncode}")
        if current_app.control.ping(destination=[hostname], timeout=0.5):
            return proc
    stop_process(proc)
    raise RuntimeError("celery worker did not answer a ping within the timeout")


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
