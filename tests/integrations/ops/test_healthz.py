"""`GET /healthz`: JSON status of database, cache and broker; 503 when one is down.

The checks are shown to staff and to requests with the metrics token (what these tests send);
anonymous callers get the status only (tests/security/test_metrics_and_healthz_access.py).
"""

from __future__ import annotations

import secrets

import pytest

from integrations.ops import probes

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client, settings):  # type: ignore[no-untyped-def]
    """A client that sends the metrics token, so /healthz answers with its checks."""
    token = secrets.token_urlsafe(24)
    settings.METRICS_TOKEN = token
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_healthy_embedded_default_answers_200(client, settings):
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "eager"


def test_unreachable_redis_answers_503_without_leaking_the_url(client, settings):
    settings.REDIS_URL = "redis://user:hunter2-not-real@127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["status"] == "error"
    assert b"hunter2" not in response.content


def test_unreachable_broker_answers_503(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


def test_database_failure_answers_503(client, monkeypatch):
    monkeypatch.setattr(probes, "probe_database", lambda: probes.ProbeResult("error", "Boom"))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"status": "error", "detail": "Boom"}


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.redis
def test_real_redis_is_reported_ok(client, settings):
    response = client.get("/healthz")

    assert response.json()["checks"]["cache"] == {"status": "ok", "detail": "redis"}
