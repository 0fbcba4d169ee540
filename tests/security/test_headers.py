"""Security headers on the pages people use: CSP, HSTS (HTTPS, production defaults),
X-Frame-Options, Referrer-Policy, nosniff — and pages that still work under the CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.oauth_accounts.factories import make_account

pytestmark = pytest.mark.django_db

_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def inline_scripts(html: bytes) -> list[bytes]:
    """Executable <script> elements without src (a CSP without 'unsafe-inline' blocks them)."""
    found = []
    for attributes, content in _SCRIPT.findall(html):
        if b"src=" in attributes:
            continue
        kind = re.search(rb'type="([^"]+)"', attributes)
        if kind and kind.group(1) not in (b"text/javascript", b"module"):
            continue  # a data block (JSON), never executed
        if content.strip():
            found.append(content[:200])
    return found


@pytest.fixture
def pages(staff: Any) -> list[str]:
    account = make_account(user=staff)
    urls = [
        "/connections/",
        f"/connections/{account.pk}/disconnect/",
        "/admin/",
        reverse("admin:liaison_oauth_connectedaccount_change", args=[account.pk]),
        reverse("admin:liaison_webhooks_webhookendpoint_add"),
        "/api/connections/",
    ]
    urls += [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    return urls


def test_every_page_has_the_security_headers_and_no_inline_script(staff_client, pages):
    anonymous = Client()
    for client, url in [
        (anonymous, "/accounts/login/"),
        (anonymous, "/admin/login/"),
        *((staff_client, url) for url in pages),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url

        csp = directives(response)
        assert csp["default-src"] == ["'self'"], url
        assert csp["script-src"] == ["'self'"], url  # no inline or eval'd script anywhere
        assert csp["frame-ancestors"] == ["'none'"], url
        assert csp["object-src"] == ["'none'"], url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        if "text/html" in response["Content-Type"]:
            assert inline_scripts(response.content) == [], url


def test_hsts_is_sent_over_https_with_the_production_defaults(client, settings):
    # The production defaults (DEBUG off) as config/settings.py computes them.
    assert settings.SECURE_HSTS_SECONDS == 31_536_000
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS
    assert settings.SECURE_HSTS_PRELOAD

    response = client.get("/accounts/login/", secure=True)

    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")  # never over HTTP


def test_webhook_answers_skip_the_policy_that_pages_get(client):
    from tests.webhooks.factories import make_endpoint, signed_stripe_headers, stripe_body

    endpoint = make_endpoint()
    body = stripe_body()
    answer = client.post(
        f"/webhooks/{endpoint.slug}/",
        body,
        content_type="application/json",
        **signed_stripe_headers(body, endpoint.secrets.get().value),
    )
    page = client.get("/accounts/login/")

    assert answer.status_code == 200
    assert "Content-Security-Policy" not in answer
    assert "script-src" in page["Content-Security-Policy"]
