"""Customers: the snapshot, the link to the host's user, and the foreign keys of rows that
arrived before their customer.

The user link (`STRIPE_CUSTOMER_USER_MATCH`, read at call time):

- `"metadata"` (default): the user whose primary key is in the customer's
  `metadata[STRIPE_CUSTOMER_USER_METADATA_KEY]` (default key `liaison_user_id`, which
  `customer_create` writes);
- `"email"`: the one user whose email equals the customer's, ignoring case (none when two
  users share it);
- `"none"`: never linked here; the host sets `Customer.user` itself.

A link is only ever added: a customer already linked keeps its user, and a user already
linked to another customer is not moved (one customer per user).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.payments import conf
from integrations.payments.models import CheckoutSession, Customer, Invoice, Payment, Subscription
from integrations.payments.signals import customer_changed, customer_deleted
from integrations.payments.sync.base import SyncResult, from_epoch, snapshot_write, text

logger = logging.getLogger(__name__)

CUSTOMER_DELETED_EVENT = "customer.deleted"


def customer_user_find(data: Mapping[str, Any]) -> Any:
    """The host's user this Stripe customer belongs to by the configured rule, or None."""
    rule = conf.stripe_customer_user_match()
    users = get_user_model()._default_manager
    if rule == "metadata":
        value = (data.get("metadata") or {}).get(conf.stripe_customer_user_metadata_key())
        if not value:
            return None
        try:
            return users.filter(pk=str(value)).first()
        except (ValueError, TypeError, ValidationError):
            # Not a valid primary key for this user model (e.g. text for an integer pk).
            return None
    if rule == "email":
        email = text(data.get("email")).strip()
        if not email:
            return None
        matches = list(users.filter(email__iexact=email)[:2])
        return matches[0] if len(matches) == 1 else None
    return None


def customer_sync(
    data: Mapping[str, Any],
    *,
    event_at: datetime | None = None,
    event_type: str | None = None,
    user: Any = None,
) -> SyncResult[Customer]:
    """Apply a Customer snapshot. `customer.deleted` (or a deleted stub `{id, deleted: true}`)
    only marks the row deleted: its history stays readable."""
    deleted = bool(data.get("deleted")) or event_type == CUSTOMER_DELETED_EVENT
    if data.get("deleted") and "email" not in data:
        fields: dict[str, Any] = {"deleted": True}
    else:
        fields = {
            "email": text(data.get("email")),
            "name": text(data.get("name"))[:256],
            "livemode": bool(data.get("livemode")),
            "deleted": deleted,
            "metadata": dict(data.get("metadata") or {}),
            "stripe_created": from_epoch(data.get("created")),
        }
    with transaction.atomic(savepoint=False):
        result = snapshot_write(Customer, str(data["id"]), fields, event_at=event_at)
        row = result.row
        linked = False
        if result.applied and row.user_id is None:
            linked = _user_link(row, user if user is not None else customer_user_find(data))
        if result.created:
            _orphans_adopt(row)
        if result.created or result.changed or linked:
            customer_changed.send(
                sender=Customer, customer=row, created=result.created, event_type=event_type
            )
        if row.deleted and (result.created or not result.before.get("deleted", True)):
            customer_deleted.send(sender=Customer, customer=row, event_type=event_type)
        return result


def _user_link(row: Customer, user: Any) -> bool:
    if user is None:
        return False
    # A row without a Stripe id (left by an older admin "Add") never keeps a user.
    Customer.objects.filter(user=user, stripe_id="").exclude(pk=row.pk).update(user=None)
    if Customer.objects.filter(user=user).exclude(pk=row.pk).exists():
        logger.info("stripe_customer_user_taken", extra={"customer": row.stripe_id})
        return False
    row.user = user
    row.save(update_fields=["user", "synced_at"])
    return True


def _orphans_adopt(row: Customer) -> None:
    """Rows synced before their customer point at it now (one indexed UPDATE per model)."""
    for model in (Payment, Subscription, Invoice, CheckoutSession):
        model._default_manager.filter(stripe_customer_id=row.stripe_id, customer=None).update(
            customer=row
        )
