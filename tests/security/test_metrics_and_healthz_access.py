"""Who may read `/metrics` and the checks behind `/healthz` (issue 18).

`/metrics` is off until METRICS_TOKEN or METRICS_ALLOWED_IPS is set (loopback is trusted only
with DEBUG=1: behind a same-host proxy every client is loopback), and says once per process
how to switch it on. `/healthz` answers anyone with up or down only; staff and requests with
the metrics token also see the checks.
"""

from __future__ import annotations

import logging
import secrets

import pytest

from integrations.ops import metrics
from integrations.ops.metrics import METRICS_DISABLED_MESSAGE
from tests.oauth_accounts.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings) -> str:
    value = secrets.token_urlsafe(24)
    settings.METRICS_TOKEN = value
    return value


@pytest.fixture
def fresh_notice(monkeypatch) -> None:
    monkeypatch.setattr(metrics, "_disabled_logged", False)


def test_metrics_are_denied_to_loopback_without_configuration(client, settings, fresh_notice):
    settings.DEBUG = False

    for address in ("127.0.0.1", "::1", "192.0.2.10"):
        response = client.get("/metrics", REMOTE_ADDR=address)
        assert response.status_code == 403
        assert b"liaison_" not in response.content


def test_disabled_metrics_say_how_to_enable_them_once_per_process(
    client, settings, fresh_notice, caplog
):
    caplog.set_level(logging.WARNING, logger="integrations.ops.metrics")

    for _ in range(3):
        client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    notices = [r for r in caplog.records if r.getMessage() == METRICS_DISABLED_MESSAGE]
    assert len(notices) == 1
    assert "METRICS_TOKEN" in METRICS_DISABLED_MESSAGE
    assert "METRICS_ALLOWED_IPS" in METRICS_DISABLED_MESSAGE


def test_metrics_answer_with_the_token_from_anywhere(client, token):
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401

    response = client.get(
        "/metrics", headers={"Authorization": f"Bearer {token}"}, REMOTE_ADDR="192.0.2.10"
    )

    assert response.status_code == 200
    assert b"liaison_alerts_active" in response.content


def test_metrics_answer_listed_addresses_only(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_metrics_answer_loopback_in_debug(client, settings):
    settings.DEBUG = True

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 403


def test_healthz_tells_anonymous_callers_only_up_or_down(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    for leak in (b"sqlite", b"postgresql", b"redis", b"eager", b"checks"):
        assert leak not in response.content.lower()


def test_healthz_down_is_503_with_the_status_only(client, monkeypatch):
    from integrations.ops import probes

    monkeypatch.setattr(probes, "probe_database", lambda: probes.ProbeResult("error", "Boom"))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error"}


def test_healthz_shows_its_checks_to_staff(client):
    client.force_login(make_user(is_staff=True))

    body = client.get("/healthz").json()

    assert set(body["checks"]) == {"database", "cache", "broker"}


def test_healthz_hides_its_checks_from_signed_in_non_staff(client):
    client.force_login(make_user())

    assert "checks" not in client.get("/healthz").json()


def test_healthz_shows_its_checks_with_the_metrics_token(client, token):
    body = client.get("/healthz", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["checks"]["database"]["status"] == "ok"

    wrong = client.get("/healthz", headers={"Authorization": "Bearer not-it"}).json()
    assert "checks" not in wrong
