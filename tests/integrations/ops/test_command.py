"""`manage.py integrations_health [--json]`: exit 0 when healthy, 1 with an active alert."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import responses
from django.core.management import call_command

from integrations.core.exceptions import IntegrationError
from integrations.outbound.http import ServiceClient
from tests.webhooks.factories import make_endpoint, make_event

from .conftest import BASE

pytestmark = pytest.mark.django_db


def _run(*args):
    out = StringIO()
    try:
        call_command("integrations_health", *args, stdout=out, skip_checks=True)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_healthy_exits_zero_and_prints_the_services(fake):
    make_endpoint(slug="shop")
    code, out = _run()
    assert code == 0
    assert "acme" in out
    assert "breaker=closed" in out
    assert "shop" in out
    assert "Healthy" in out


def test_json_output_and_exit_one_with_an_alert(fake):
    make_event(endpoint=make_endpoint(slug="shop"), status="dead")
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", status=503)
        for _ in range(2):
            with pytest.raises(IntegrationError):
                ServiceClient("acme").get("/x")
    code, out = _run("--json")
    assert code == 1
    report = json.loads(out)
    assert report["healthy"] is False
    assert {(a["code"], a["subject"]) for a in report["alerts"]} == {
        ("breaker_open", "acme"),
        ("webhook_dead_events", "shop"),
    }
    acme = next(row for row in report["services"] if row["name"] == "acme")
    assert acme["breaker_state"] == "open"
    assert acme["errors_total"] == 2
    assert report["endpoints"][0]["dead"] == 1
    assert len(report["series"]["outbound_errors"]) == 24
