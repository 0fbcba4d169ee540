"""Reads of the `webhooks` app.

The hot path reads one thing: the endpoint's configuration by slug. Each process keeps a copy
for WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS (5 s); behind it sits the Django cache when that cache
is shared between processes (Redis), where a change made in any process deletes the entry, so
every process sees it within those 5 s. A cache private to each process (LocMemCache, the
embedded default) is skipped: another process — a second gunicorn worker, or `manage.py
webhook_endpoint` in a shell — could not invalidate it, and the server would keep a retired
secret for WEBHOOKS_ENDPOINT_CACHE_SECONDS. Without a shared cache the endpoint is therefore read
from the database at most once per slug every 5 s per process.

The cached value holds the secrets as stored (Fernet tokens), never in the clear, so a shared
cache (Redis) never sees a plaintext secret; they are decrypted in the process (memoised per
token) when a delivery is verified.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models import ExpressionWrapper, F, QuerySet, TextField

from webhooks import conf
from webhooks.exceptions import UnknownProvider, WebhookConfigurationError
from webhooks.models import WebhookEndpoint, WebhookEvent, WebhookSecret
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

logger = logging.getLogger(__name__)

# v2: the cached value carries the provider's parsed options.
_CACHE_PREFIX = "liaison_webhooks:endpoint:v2:"
# Cached for slugs with no endpoint, so probing random URLs does not query the database.
_MISSING = "missing"


@dataclass(frozen=True)
class EndpointConfig:
    """What the receive view needs about an endpoint (cacheable: no model instance)."""

    id: int
    slug: str
    provider: str
    active: bool
    max_body_bytes: int
    tolerance_seconds: int
    public_key: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    # Fernet tokens of the active secrets, newest first.
    secret_tokens: tuple[str, ...] = ()
    # Hours of the duplicate-body window (0 = off; see `webhooks.services.ingest`).
    duplicate_body_window_hours: int = 0
    # The provider's parsed options (`WebhookProvider.prepare_options`), parsed once here so
    # no delivery re-parses them (the generic HMAC provider's option mini-language).
    prepared_options: Any = None

    def secrets(self) -> EndpointSecrets:
        return EndpointSecrets(
            secrets=tuple(_decrypt_secret(token) for token in self.secret_tokens),
            public_key=self.public_key,
            tolerance_seconds=self.tolerance_seconds,
            options=self.options,
            prepared_options=self.prepared_options,
        )


@lru_cache(maxsize=512)
def _decrypt_secret(token: str) -> str:
    # Tokens are unique per encryption (fresh IV), so memoising by token is exact.
    value: str = WebhookSecret._meta.get_field("value").decrypt(token)
    return value


def endpoint_cache_key(slug: str) -> str:
    return f"{_CACHE_PREFIX}{slug}"


# Process-local copy in front of the shared cache: saves a cache round trip per delivery. An
# invalidation clears it in this process at once; other processes see a change within
# WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS (default 5).
_local: dict[str, tuple[float, EndpointConfig | None]] = {}


def endpoint_local_cache_clear(slugs: list[str] | None = None) -> None:
    if slugs is None:
        _local.clear()
    for slug in slugs or ():
        _local.pop(slug, None)


def webhook_endpoint_config_get(*, slug: str) -> EndpointConfig | None:
    """The endpoint's configuration by slug (cached), None when there is no such endpoint."""
    ttl = conf.endpoint_local_cache_seconds()
    if ttl > 0:
        hit = _local.get(slug)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    config = _shared_endpoint_config(slug)
    if ttl > 0:
        if len(_local) > 1000:
            _local.clear()
        _local[slug] = (time.monotonic() + ttl, config)
    return config


def _cache_is_shared() -> bool:
    """False for the backends every process has its own copy of (no invalidation reaches)."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def _shared_endpoint_config(slug: str) -> EndpointConfig | None:
    if not _cache_is_shared():
        return _load_endpoint_config(slug)
    key = endpoint_cache_key(slug)
    try:
        cached = cache.get(key)
    except Exception as exc:  # the cache is an optimisation: fall back to the database
        logger.warning("webhook_endpoint_cache_unavailable", extra={"error": type(exc).__name__})
        # Not written back either: a hung cache would cost a second socket timeout.
        return _load_endpoint_config(slug)
    if isinstance(cached, EndpointConfig):
        return cached
    if cached == _MISSING:
        return None
    config = _load_endpoint_config(slug)
    try:
        cache.set(key, config or _MISSING, conf.endpoint_cache_seconds())
    except Exception as exc:
        logger.warning("webhook_endpoint_cache_unavailable", extra={"error": type(exc).__name__})
    return config


def _load_endpoint_config(slug: str) -> EndpointConfig | None:
    endpoint = WebhookEndpoint.objects.filter(slug=slug).first()
    if endpoint is None:
        return None
    # The raw column (the Fernet token), not the decrypted value: see the module docstring.
    tokens = tuple(
        WebhookSecret.objects.filter(endpoint=endpoint, active=True)
        .order_by("-created_at", "-id")
        .annotate(token=ExpressionWrapper(F("value"), output_field=TextField()))
        .values_list("token", flat=True)
    )
    return EndpointConfig(
        id=endpoint.pk,
        slug=endpoint.slug,
        provider=endpoint.provider,
        active=endpoint.active,
        max_body_bytes=endpoint.max_body_bytes,
        tolerance_seconds=endpoint.tolerance_seconds,
        public_key=endpoint.public_key,
        options=dict(endpoint.options or {}),
        secret_tokens=tokens,
        duplicate_body_window_hours=endpoint.duplicate_body_window_hours,
        prepared_options=_prepared_options(endpoint.provider, endpoint.options),
    )


def _prepared_options(provider_id: str, options: Any) -> Any:
    """The provider's parsed options, or None when it has none or they cannot work (the
    delivery then parses them again and answers 503 naming the option)."""
    try:
        return get_provider(provider_id).prepare_options(dict(options or {}))
    except (UnknownProvider, WebhookConfigurationError):
        return None


def webhook_endpoint_secrets(*, endpoint: WebhookEndpoint) -> EndpointSecrets:
    """The endpoint's verification material, decrypted (newest active secret first)."""
    values = tuple(
        endpoint.secrets.filter(active=True)
        .order_by("-created_at", "-id")
        .values_list("value", flat=True)
    )
    return EndpointSecrets(
        secrets=values,
        public_key=endpoint.public_key,
        tolerance_seconds=endpoint.tolerance_seconds,
        options=dict(endpoint.options or {}),
        prepared_options=_prepared_options(endpoint.provider, endpoint.options),
    )


def webhook_endpoint_url(*, endpoint: WebhookEndpoint, base_url: str | None = None) -> str:
    """The full URL to paste into the provider's dashboard."""
    base = (base_url or conf.public_base_url() or "").rstrip("/")
    return f"{base}{endpoint.path}"


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("slug")


def webhook_event_list(
    *,
    slug: str | None = None,
    status: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    ids: list[int] | None = None,
    event_ids: list[str] | None = None,
) -> QuerySet[WebhookEvent]:
    """Events, newest first, filtered by whatever is given."""
    events = WebhookEvent.objects.select_related("endpoint").order_by("-received_at", "-id")
    if slug:
        events = events.filter(endpoint__slug=slug)
    if status:
        events = events.filter(status=status)
    if event_type:
        events = events.filter(event_type=event_type)
    if since is not None:
        events = events.filter(received_at__gte=since)
    if ids:
        events = events.filter(pk__in=ids)
    if event_ids:
        events = events.filter(event_id__in=event_ids)
    return events
