"""Keep the hot path's endpoint cache in step with the database (connected in apps.ready).

Liaison's own receivers of Django's model signals; the signals Liaison *sends* for a host to
receive are in `webhooks.signals`.
"""

from __future__ import annotations

from typing import Any

from webhooks.models import WebhookEndpoint, WebhookSecret
from webhooks.services import webhook_endpoint_cache_invalidate


def endpoint_saving(
    sender: type[WebhookEndpoint], instance: WebhookEndpoint, **kwargs: Any
) -> None:
    if instance.pk:
        previous = (
            WebhookEndpoint.objects.filter(pk=instance.pk).values_list("slug", flat=True).first()
        )
        instance._previous_slug = previous  # type: ignore[attr-defined]


def endpoint_changed(
    sender: type[WebhookEndpoint], instance: WebhookEndpoint, **kwargs: Any
) -> None:
    webhook_endpoint_cache_invalidate(slugs=[instance.slug, instance.loaded_slug])


def secret_changed(sender: type[WebhookSecret], instance: WebhookSecret, **kwargs: Any) -> None:
    slug = (
        WebhookEndpoint.objects.filter(pk=instance.endpoint_id)
        .values_list("slug", flat=True)
        .first()
    )
    webhook_endpoint_cache_invalidate(slugs=[slug])


def connect() -> None:
    from django.db.models.signals import post_delete, post_save, pre_save

    pre_save.connect(endpoint_saving, sender=WebhookEndpoint, dispatch_uid="webhooks.ep.pre")
    post_save.connect(endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks.ep.save")
    post_delete.connect(endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks.ep.del")
    post_save.connect(secret_changed, sender=WebhookSecret, dispatch_uid="webhooks.secret.save")
    post_delete.connect(secret_changed, sender=WebhookSecret, dispatch_uid="webhooks.secret.del")
