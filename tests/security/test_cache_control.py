"""`Cache-Control: no-store` on every API and JSON answer (issue 18).

API answers carry payloads, headers and personal data: neither the browser's disk cache nor a
shared proxy may keep them (integrations/core/middleware.py).
"""

from __future__ import annotations

import pytest

from tests.oauth_accounts.factories import make_user

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:  # type: ignore[no-untyped-def]
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    "path",
    [
        "/api/connections/",
        "/api/staff/health/",
        "/api/staff/webhooks/events/",
        "/api/schema/",
        "/api/docs/",
    ],
)
def test_staff_api_answers_are_never_stored(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == 200, path
    assert _no_store(response), (path, response.get("Cache-Control"))


@pytest.mark.parametrize("path", ["/api/staff/webhooks/events/", "/api/connections/"])
def test_refusals_are_not_stored_either(client, path):
    response = client.get(path)

    assert response.status_code in (401, 403)
    assert _no_store(response)


def test_admin_json_answers_are_never_stored(staff_client):
    response = staff_client.get(
        "/admin/autocomplete/",
        {"app_label": "liaison_oauth", "model_name": "connectedaccount", "field_name": "user"},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert _no_store(response)


def test_json_answers_outside_the_api_are_not_stored(client):
    response = client.get("/healthz")

    assert response["Content-Type"].startswith("application/json")
    assert _no_store(response)


def test_html_pages_keep_their_own_caching_headers(client, settings):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from integrations.core.middleware import NoStoreMiddleware

    page = HttpResponse("<p>hi</p>")
    page["Cache-Control"] = "public, max-age=60"
    answer = NoStoreMiddleware(lambda request: page)(RequestFactory().get("/somewhere/"))

    assert answer["Cache-Control"] == "public, max-age=60"


def test_a_signed_in_users_own_connections_are_not_stored(client):
    client.force_login(make_user())

    response = client.get("/api/connections/")

    assert response.status_code == 200
    assert _no_store(response)
