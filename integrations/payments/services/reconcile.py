"""Reconciliation (`manage.py stripe_sync`): page through Stripe's list API and apply every
object through the same sync functions the webhooks use.

Snapshots carry no event time, so they never mask a newer webhook event's ordering check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.payments.gateway import stripe_call, stripe_client
from integrations.payments.models import StripeSyncCursor
from integrations.payments.sync import (
    checkout_session_sync,
    customer_sync,
    dispute_sync,
    invoice_sync,
    payment_sync,
    price_sync,
    product_sync,
    subscription_sync,
)


@dataclass(frozen=True)
class SyncResource:
    # The `StripeClient.v1` service (`client.v1.<service>.list`).
    service: str
    apply: Callable[[Mapping[str, Any]], object]
    # Extra list parameters (subscriptions: every status, not only the live ones).
    params: Mapping[str, Any] | None = None


# In dependency order: products before prices, customers before what belongs to them, so the
# foreign keys are filled as rows arrive.
SYNC_RESOURCES: dict[str, SyncResource] = {
    "products": SyncResource("products", product_sync),
    "prices": SyncResource("prices", price_sync),
    "customers": SyncResource("customers", customer_sync),
    "subscriptions": SyncResource("subscriptions", subscription_sync, {"status": "all"}),
    "invoices": SyncResource("invoices", invoice_sync),
    "payments": SyncResource("payment_intents", payment_sync),
    "checkout_sessions": SyncResource("checkout.sessions", checkout_session_sync),
    "disputes": SyncResource("disputes", dispute_sync),
}


@dataclass(frozen=True)
class SyncReport:
    resource: str
    pages: int
    objects: int
    resumed_after: str


def _list_service(service: str) -> Any:
    target: Any = stripe_client().v1
    for part in service.split("."):
        target = getattr(target, part)
    return target


def stripe_list_pages(
    *,
    service: str,
    starting_after: str = "",
    page_size: int = 100,
    params: Mapping[str, Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list endpoint (`customers`, `checkout.sessions`, …) from
    `starting_after` on, following `has_more`; each page request is guarded on its own."""
    lister = _list_service(service)
    cursor = starting_after
    while True:
        request: dict[str, Any] = {**(params or {}), "limit": page_size}
        if cursor:
            request["starting_after"] = cursor
        page = stripe_call(f"{service}.list", lister.list, params=request)
        items = [item.to_dict() for item in page.data]
        if items:
            yield items
            cursor = str(items[-1]["id"])
        if not page.has_more or not items:
            return


def stripe_list_iterate(*, service: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Automatic pagination over a list endpoint, object by object."""
    for page in stripe_list_pages(service=service, **kwargs):
        yield from page


def stripe_sync_cursor_get_or_create(*, resource: str) -> StripeSyncCursor:
    cursor, _ = StripeSyncCursor.objects.get_or_create(resource=resource)
    return cursor


def stripe_resource_sync(
    *,
    resource: str,
    restart: bool = False,
    page_size: int = 100,
    max_pages: int | None = None,
    progress: Callable[[str], object] | None = None,
) -> SyncReport:
    """Copy every object of `resource` from Stripe's list API into the local models.

    The cursor (last id applied) is saved after each page, so an interrupted run continues
    where it stopped; a completed run starts over next time (or with `restart`).
    """
    if resource not in SYNC_RESOURCES:
        raise ValueError(f"unknown resource {resource!r}; choose from {sorted(SYNC_RESOURCES)}")
    spec = SYNC_RESOURCES[resource]
    cursor = stripe_sync_cursor_get_or_create(resource=resource)
    if restart or cursor.completed_at is not None:
        cursor.starting_after = ""
        cursor.objects_synced = 0
        cursor.completed_at = None
        cursor.started_at = timezone.now()
        cursor.save()
    resumed_after = cursor.starting_after
    pages = objects = 0
    for page in stripe_list_pages(
        service=spec.service,
        starting_after=cursor.starting_after,
        page_size=page_size,
        params=spec.params,
    ):
        with transaction.atomic():
            for item in page:
                spec.apply(item)
            cursor.starting_after = str(page[-1]["id"])
            cursor.objects_synced += len(page)
            cursor.save()
        pages += 1
        objects += len(page)
        if progress is not None:
            progress(f"{resource}: {cursor.objects_synced} synced, after {cursor.starting_after}")
        if max_pages is not None and pages >= max_pages:
            return SyncReport(resource, pages, objects, resumed_after)
    cursor.completed_at = timezone.now()
    cursor.save()
    return SyncReport(resource, pages, objects, resumed_after)
