"""Webhook secrets and OAuth tokens never appear in a response, an admin page or a log line.

Known values are created, every admin list page and the relevant change pages, the staff API,
the user pages and a few webhook deliveries are rendered, and the captured output (responses,
log records, stdout/stderr) is searched for the values.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.oauth_accounts.factories import make_account
from tests.webhooks.factories import make_endpoint, make_event, signed_stripe_headers, stripe_body
from webhooks.models import WebhookSecret

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(staff: Any) -> dict[str, Any]:
    webhook_secret = f"whsec_test_{secrets.token_hex(16)}"
    access = f"fake-access-{secrets.token_hex(12)}"
    refresh = f"fake-refresh-{secrets.token_hex(12)}"
    endpoint = make_endpoint(slug="exposure", secret=webhook_secret)
    make_event(endpoint=endpoint)
    account = make_account(user=staff, access_token=access, refresh_token=refresh)
    return {
        "values": (webhook_secret, access, refresh),
        "endpoint": endpoint,
        "account": account,
    }


def pages(known: dict[str, Any]) -> list[str]:
    urls = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    urls += [
        reverse("admin:liaison_webhooks_webhookendpoint_change", args=[known["endpoint"].pk]),
        reverse("admin:liaison_oauth_connectedaccount_change", args=[known["account"].pk]),
        "/connections/",
        f"/connections/{known['account'].pk}/disconnect/",
        "/api/connections/",
        f"/api/connections/{known['account'].pk}/",
        "/api/staff/webhooks/endpoints/",
        "/api/staff/webhooks/events/",
        "/api/staff/accounts/",
        "/api/staff/health/",
    ]
    if WebhookSecret in admin.site._registry:
        secret = WebhookSecret.objects.get(endpoint=known["endpoint"])
        urls.append(reverse("admin:liaison_webhooks_webhooksecret_change", args=[secret.pk]))
    return urls


def test_secrets_and_tokens_never_appear_in_pages_responses_or_logs(
    staff_client, known, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []

    for url in pages(known):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content)

    body = stripe_body()
    webhook_secret = known["values"][0]
    good = staff_client.post(
        "/webhooks/exposure/",
        data=body,
        content_type="application/json",
        **signed_stripe_headers(body, webhook_secret),
    )
    forged = staff_client.post(
        "/webhooks/exposure/",
        data=body,
        content_type="application/json",
        **signed_stripe_headers(body, "whsec_test_wrong"),
    )
    assert good.status_code == 200
    assert forged.status_code == 400
    bodies += [good.content, forged.content]

    captured = capfd.readouterr()
    everything = b"\n".join(bodies).decode("utf-8", "replace")
    logs = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    for value in known["values"]:
        assert value not in everything
        assert value not in logs
        assert value not in captured.out
        assert value not in captured.err
    # The admin says whether a secret is set instead of showing it.
    change_page = staff_client.get(
        reverse("admin:liaison_webhooks_webhookendpoint_change", args=[known["endpoint"].pk])
    )
    assert webhook_secret[:12] not in change_page.content.decode()
