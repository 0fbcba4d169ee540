"""Endpoint and secret management, cache invalidation, test deliveries."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

import requests
from django.core.cache import cache
from django.db import transaction

from webhooks import conf
from webhooks.exceptions import TestDeliveryUnreachable, WebhookConfigurationError
from webhooks.models import WebhookEndpoint, WebhookSecret
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets
from webhooks.selectors import (
    endpoint_cache_key,
    endpoint_local_cache_clear,
    webhook_endpoint_secrets,
)

logger = logging.getLogger(__name__)

DEFAULT_TEST_BASE_URL = "http://127.0.0.1:8000"


def webhook_endpoint_cache_invalidate(*, slugs: list[str | None]) -> None:
    """Drop the cached configuration now and again after commit.

    The second drop covers a request that re-cached the old state between the write and the
    commit.
    """
    present = [slug for slug in dict.fromkeys(slugs) if slug]
    if not present:
        return
    endpoint_local_cache_clear(present)
    keys = [endpoint_cache_key(slug) for slug in present]
    cache.delete_many(keys)

    def after_commit() -> None:
        endpoint_local_cache_clear(present)
        cache.delete_many(keys)

    transaction.on_commit(after_commit)


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    # The secret we generated, shown once by the caller; None when given or not applicable.
    generated_secret: str | None


def webhook_endpoint_create(
    *,
    provider: str,
    slug: str,
    secret: str | None = None,
    public_key: str = "",
    description: str = "",
    options: dict[str, object] | None = None,
    tolerance_seconds: int | None = None,
    max_body_bytes: int | None = None,
    duplicate_body_window_hours: int | None = None,
) -> CreatedEndpoint:
    """Create an endpoint; generate a secret when none is given and we choose it.

    Raises `ValidationError` naming the field (`options`, `public_key`, `secret`, …) when the
    provider cannot work with the settings (`WebhookEndpoint.clean`). Without
    `duplicate_body_window_hours` the provider's default applies (24 for schemes that sign no
    timestamp or id, else 0).
    """
    provider_impl = get_provider(provider)
    generated: str | None = None
    if not secret and provider_impl.secret_kind == "shared_secret":  # noqa: S105 - a kind  # nosec B105
        secret = generated = provider_impl.generate_secret()
    endpoint = WebhookEndpoint(
        provider=provider,
        slug=slug,
        public_key=public_key,
        description=description,
        options=options or {},
    )
    if tolerance_seconds is not None:
        endpoint.tolerance_seconds = tolerance_seconds
    if max_body_bytes is not None:
        endpoint.max_body_bytes = max_body_bytes
    endpoint.duplicate_body_window_hours = (
        provider_impl.default_duplicate_body_window_hours
        if duplicate_body_window_hours is None
        else duplicate_body_window_hours
    )
    if secret:
        endpoint.stage_secret(secret)
    endpoint.full_clean()
    with transaction.atomic():
        endpoint.save()
        if secret:
            WebhookSecret.objects.create(endpoint=endpoint, value=secret)
    return CreatedEndpoint(endpoint=endpoint, generated_secret=generated)


@dataclass(frozen=True)
class RotatedSecret:
    secret: WebhookSecret
    generated_secret: str | None
    retired: int


def webhook_secret_add(
    *, endpoint: WebhookEndpoint, value: str | None = None, retire_others: bool = False
) -> RotatedSecret:
    """Add a secret (generated when None and we choose it); old ones stay active unless
    `retire_others`, so deliveries signed with either verify during the switch-over.

    `ValidationError` (on `secret`) when the provider cannot use the value (e.g. a Standard
    Webhooks secret that is not base64)."""
    generated: str | None = None
    if not value:
        provider_impl = get_provider(endpoint.provider)
        if provider_impl.secret_kind != "shared_secret":  # noqa: S105 - a kind  # nosec B105
            raise WebhookConfigurationError(
                f"{provider_impl.name} issues the secret: pass the value it shows."
            )
        value = generated = provider_impl.generate_secret()
    endpoint.stage_secret(value, retire_others=True)
    endpoint.clean_settings()
    with transaction.atomic():
        secret = WebhookSecret.objects.create(endpoint=endpoint, value=value)
        retired = 0
        if retire_others:
            retired = (
                WebhookSecret.objects.filter(endpoint=endpoint, active=True)
                .exclude(pk=secret.pk)
                .update(active=False)
            )
        webhook_endpoint_cache_invalidate(slugs=[endpoint.slug])
    return RotatedSecret(secret=secret, generated_secret=generated, retired=retired)


@dataclass(frozen=True)
class TestDeliveryResult:
    url: str
    event_id: str
    status_code: int
    body: str


def webhook_endpoint_send_test(
    *, endpoint: WebhookEndpoint, event_type: str | None = None, base_url: str | None = None
) -> TestDeliveryResult:
    """Post a realistic sample delivery, signed as the provider would, to the endpoint's URL.

    Uses the newest active secret. Raises `WebhookConfigurationError` when the endpoint has
    nothing to sign with; `TestDeliveryUnreachable` when the server cannot be reached.
    """
    provider = get_provider(endpoint.provider)
    stored = webhook_endpoint_secrets(endpoint=endpoint)
    signing_secrets = EndpointSecrets(
        secrets=stored.secrets[:1],
        public_key=stored.public_key,
        tolerance_seconds=stored.tolerance_seconds,
        options=stored.options,
        prepared_options=stored.prepared_options,
    )
    base = (base_url or conf.public_base_url() or DEFAULT_TEST_BASE_URL).rstrip("/")
    url = f"{base}{endpoint.path}"
    event_id = f"evt_test_{uuid.uuid4().hex[:24]}"
    body = provider.sample_body(event_type, event_id=event_id)
    signed = provider.sign(
        body,
        signing_secrets,
        url=url,
        timestamp=int(time.time()),
        event_type=event_type,
        event_id=event_id,
    )
    headers = {"Content-Type": signed.content_type, **signed.headers}
    try:
        response = requests.post(  # nosec B113 - timeout= is passed below
            url, data=signed.body, headers=headers, timeout=conf.test_delivery_timeout_seconds()
        )
    except requests.RequestException as exc:
        raise TestDeliveryUnreachable(
            f"{url} could not be reached ({type(exc).__name__})."
        ) from exc
    logger.info(
        "webhook_test_delivery_sent",
        extra={"endpoint": endpoint.slug, "status": response.status_code},
    )
    return TestDeliveryResult(
        url=url, event_id=event_id, status_code=response.status_code, body=response.text[:2000]
    )
