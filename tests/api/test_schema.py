"""OpenAPI schema (drf-spectacular) and the docs page served from local static files."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

STAFF_PATHS = {
    "/api/staff/health/",
    "/api/staff/webhooks/events/",
    "/api/staff/webhooks/events/{id}/",
    "/api/staff/webhooks/events/{id}/replay/",
    "/api/staff/webhooks/endpoints/",
    "/api/staff/accounts/",
}


def test_schema_is_valid_openapi_listing_the_staff_and_user_apis(staff_client):
    response = staff_client.get(reverse("api:schema"), {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on anything that is not valid OpenAPI 3
    assert schema["openapi"].startswith("3.")
    assert STAFF_PATHS | {"/api/connections/", "/api/connections/{id}/"} <= set(schema["paths"])
    assert "post" in schema["paths"]["/api/staff/webhooks/events/{id}/replay/"]
    params = {
        p["name"] for p in schema["paths"]["/api/staff/webhooks/events/"]["get"]["parameters"]
    }
    assert {
        "endpoint",
        "provider",
        "event_type",
        "status",
        "received_since",
        "received_until",
        "page",
    } <= params
    endpoint_fields = schema["components"]["schemas"]["WebhookEndpoint"]["properties"]
    assert "secret_set" in endpoint_fields
    assert not {name for name in endpoint_fields if "secret" in name} - {
        "secret_set",
        "active_secrets",
    }


def test_docs_page_loads_swagger_ui_from_local_static_files(staff_client):
    response = staff_client.get(reverse("api:docs"))

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    for asset in assets:
        assert not asset.startswith(("http:", "https:", "//")), asset
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), asset
    # No inline script (the site's CSP forbids it): the start-up script is its own URL, and it
    # points Swagger UI at the schema.
    assert "<script>" not in html
    script = next(a for a in assets if "script" in a and not a.startswith("/static/"))
    init = staff_client.get(script.replace("&amp;", "&"))
    assert init.status_code == 200
    assert reverse("api:schema") in init.content.decode()
