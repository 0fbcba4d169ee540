"""Static files are served with DEBUG=0 (WhiteNoise, after `collectstatic`), issue 18.

Without them the admin is unstyled and the Swagger UI page is blank in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected(settings, tmp_path: Path) -> Path:
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    return Path(settings.STATIC_ROOT)


def test_admin_css_is_served_with_debug_off(collected):
    client = Client()  # a fresh handler: WhiteNoise reads STATIC_ROOT when it is built

    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == (collected / "admin/css/base.css").read_bytes()
    assert "max-age" in response["Cache-Control"]


def test_swagger_ui_assets_are_served_with_debug_off(collected):
    client = Client()

    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")

    assert response.status_code == 200


def test_an_unknown_static_file_is_a_404(collected):
    assert Client().get("/static/admin/css/no-such-file.css").status_code == 404
