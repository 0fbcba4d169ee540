"""JSON log lines carry the request id; the id follows the request into its Celery task; no
credential reaches a log line."""

from __future__ import annotations

import io
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache

from integrations.core.redaction import RedactingFilter
from integrations.ops.logs import JsonFormatter, RequestContextFilter
from tests.conftest import _database_url_for, start_celery_worker, stop_process

URLS = "tests.integrations.ops.urls"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """A handler configured like the console handler in JSON mode, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_settings_use_json_with_redaction_and_request_ids_on_every_handler():
    assert settings.LOG_FORMAT == "json"  # DEBUG is off in the test settings
    assert settings.MIDDLEWARE[0] == "integrations.ops.logs.RequestIdMiddleware"
    for handler in settings.LOGGING["handlers"].values():
        assert {"redact_secrets", "request_context"} <= set(handler["filters"])
        assert handler["formatter"] == "json"


@pytest.mark.urls(URLS)
def test_log_lines_and_the_task_carry_the_incoming_request_id(client, json_lines):
    key = f"rid-{uuid.uuid4().hex}"
    incoming = f"req-{uuid.uuid4().hex[:12]}"
    response = client.get(f"/log-and-queue/?key={key}", headers={"X-Request-ID": incoming})
    assert response["X-Request-ID"] == incoming
    records = _records(json_lines)
    view = next(r for r in records if r["logger"] == "tests.observability.view")
    task = next(r for r in records if r["logger"] == "tests.observability.tasks")
    assert view["request_id"] == incoming
    assert task["request_id"] == incoming
    assert task["task_id"]
    assert {"time", "level", "message"} <= set(view)
    assert cache.get(key) == incoming


@pytest.mark.urls(URLS)
@pytest.mark.parametrize("header", [None, "short", "bad id with spaces", "x" * 200])
def test_a_missing_or_malformed_request_id_is_replaced(client, json_lines, header):
    headers = {"X-Request-ID": header} if header else {}
    response = client.get("/log-and-queue/", headers=headers)
    generated = response["X-Request-ID"]
    assert generated != header
    assert len(generated) == 32
    view = next(r for r in _records(json_lines) if r["logger"] == "tests.observability.view")
    assert view["request_id"] == generated


@pytest.mark.urls(URLS)
def test_a_known_secret_never_appears_in_a_log_line(client, json_lines):
    secret = f"sk_test_{uuid.uuid4().hex}"
    client.get(f"/log-and-queue/?next=https://x.test/cb?access_token={secret}")
    logging.getLogger("tests.observability").warning(
        "calling with Authorization: Bearer %s", secret, extra={"payload": {"api_key": secret}}
    )
    output = json_lines.getvalue()
    assert output.count("[REDACTED]") >= 2
    assert secret not in output


@pytest.mark.celery_worker
@pytest.mark.urls(URLS)
def test_a_real_worker_runs_the_task_under_the_requests_id(client, transactional_db):
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
        }
    )
    proc = start_celery_worker(
        env, extra_args=("--include=" + URLS.rsplit(".", 1)[0] + ".worker_tasks",)
    )
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        key = f"rid-{uuid.uuid4().hex}"
        incoming = f"req-{uuid.uuid4().hex[:12]}"
        client.get(f"/log-and-queue/?key={key}", headers={"X-Request-ID": incoming})
        deadline = time.monotonic() + 20
        while cache.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cache.get(key) == incoming
    finally:
        current_app.conf.task_always_eager = previous
        stop_process(proc)
