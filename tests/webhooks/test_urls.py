"""The receive URL answers with and without its trailing slash (providers never follow
redirects, and Django cannot redirect a POST)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.webhooks.factories import fake_secret, make_endpoint, signed_stripe_headers, stripe_body
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
def test_post_without_the_trailing_slash_is_received_not_redirected(client, debug):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body(event_id="evt_no_slash")
    with override_settings(DEBUG=debug):
        response = client.post(
            f"/webhooks/{endpoint.slug}",
            data=body,
            content_type="application/json",
            **signed_stripe_headers(body, secret),
        )
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(event_id="evt_no_slash").count() == 1
