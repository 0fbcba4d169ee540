"""Test helpers for a host project's webhook tests (no pytest or fixture dependency).

`webhook_delivery_post` posts a body to an endpoint's receive URL exactly as the provider
would: signed by the provider class's own `sign()` with the secret you give, so a host's
provider (registered with `WEBHOOKS_PROVIDERS` or `provider_register`) and its handlers can be
tested end to end through the real view::

    from webhooks.testing import webhook_delivery_post

    response = webhook_delivery_post(
        client, slug="acme", provider_id="acme", body=b'{"id": "evt_1"}', secret="s3cret"
    )
    assert response.status_code == 200

Proving the signature scheme itself needs fixtures from the provider's documentation (or its
own SDK as the signer): a round trip through `sign()` and `verify()` cannot catch a scheme that
both get wrong the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.test import Client
from django.urls import reverse

from webhooks import conf
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

TEST_SERVER = "testserver"


def webhook_delivery_post(
    client: Client,
    *,
    slug: str,
    provider_id: str,
    body: bytes,
    secret: str,
    event_type: str | None = None,
    event_id: str | None = None,
    timestamp: int | None = None,
    options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """POST `body` to `/…/<slug>/`, signed as provider `provider_id` signs; the response.

    `timestamp` defaults to now (pass an old one to test the tolerance check); `options` are
    the endpoint's provider options (the generic `hmac` provider needs them). Other keyword
    arguments go to `client.post` (e.g. `secure=True`, extra `headers` that win over the signed
    ones).
    """
    path = reverse("liaison_webhooks:receive", kwargs={"slug": slug})
    scheme = "https" if kwargs.get("secure") else "http"
    url = f"{conf.public_base_url() or f'{scheme}://{TEST_SERVER}'}{path}"
    signed = get_provider(provider_id).sign(
        body,
        EndpointSecrets(secrets=(secret,), options=dict(options or {})),
        url=url,
        timestamp=int(time.time()) if timestamp is None else timestamp,
        event_type=event_type,
        event_id=event_id,
    )
    headers = {**signed.headers, **kwargs.pop("headers", {})}
    return client.post(
        path, data=signed.body, content_type=signed.content_type, headers=headers, **kwargs
    )
