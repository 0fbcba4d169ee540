"""What every sync function shares: the result type, time and id parsing, the locked
read-or-create, the staleness rule and the field assignment that tells whether anything
changed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

from django.db import connections, models, router

from integrations.core.db import row_insert_if_absent
from integrations.payments.models import Customer

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class SyncResult(Generic[M]):
    row: M
    created: bool
    # False when the snapshot was older than what the row already holds (nothing written).
    applied: bool
    # True when a field took a new value (always True for a created row).
    changed: bool = True
    # The field values before the write (by attribute name; empty for a created row).
    before: Mapping[str, Any] = field(default_factory=dict)
    # True when the snapshot's event time is newer than the row's (or the row is new, or
    # the snapshot has no event time): False for a duplicate delivery of the same event.
    newer: bool = True


def from_epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def object_id(value: Any) -> str:
    """An id from a field that may hold the id or the expanded object."""
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")


def text(value: Any) -> str:
    return "" if value is None else str(value)


def locked_row(
    model: type[M],
    stripe_id: str,
    defaults: dict[str, Any],
    *,
    related_by: Mapping[str, tuple[str, object]] | None = None,
) -> tuple[M, bool]:
    """The row for `stripe_id`, locked; created from `defaults` (and `related_by`, foreign
    keys resolved inside the INSERT: `row_insert_if_absent`) when missing.

    No savepoint: the insert is `INSERT … ON CONFLICT DO NOTHING`, which waits for a
    concurrent creator of the same object and then inserts nothing, so the read that follows
    finds (and locks) that worker's row.
    """
    manager = model._default_manager
    alias = router.db_for_write(model)
    row = next(iter(manager.raw(_locked_row_sql(model, alias), [stripe_id], using=alias)), None)
    if row is not None:
        return row, False
    row = model(stripe_id=stripe_id, **defaults)
    if row_insert_if_absent(row, unique_field="stripe_id", related_by=related_by):
        return row, True
    return manager.select_for_update().get(stripe_id=stripe_id), False


def is_stale(last_event_at: datetime | None, event_at: datetime | None) -> bool:
    return event_at is not None and last_event_at is not None and event_at < last_event_at


def local_customer(stripe_customer_id: str) -> Customer | None:
    if not stripe_customer_id:
        return None
    return Customer.objects.filter(stripe_id=stripe_customer_id).first()


def _attname(row: models.Model, name: str) -> str:
    model_field = row._meta.get_field(name)
    return model_field.attname if isinstance(model_field, models.Field) else name


def assign(row: models.Model, fields: Mapping[str, Any]) -> bool:
    """Set `fields` on `row`; True when any value differs from what the row held."""
    changed = False
    for name, value in fields.items():
        model_field = row._meta.get_field(name)
        # A relation compares by id, so the check never loads the related row.
        current = getattr(
            row, model_field.attname if isinstance(model_field, models.Field) else name
        )
        new = value.pk if isinstance(value, models.Model) else value
        if current != new:
            changed = True
        setattr(row, name, value)
    return changed


def snapshot_write(
    model: type[M],
    stripe_id: str,
    fields: dict[str, Any],
    *,
    event_at: datetime | None,
    rank: Callable[[Mapping[str, Any]], int] | None = None,
) -> SyncResult[M]:
    """Create or update the row for `stripe_id` from a snapshot, unless it is stale; call
    inside a transaction (the row stays locked until it ends).

    `rank` breaks ties: Stripe's event times are whole seconds, so two events of one object
    often share a second (`invoice.finalized` and `invoice.paid`). At an equal time a
    snapshot whose rank (from its fields) is lower than the row's is stale — a later state
    (paid, expired, won) is never rolled back by an earlier one delivered late.
    """
    row, created = locked_row(model, stripe_id, {**fields, "last_event_at": event_at})
    if created:
        return SyncResult(row, True, True)
    last = getattr(row, "last_event_at", None)
    stale = is_stale(last, event_at)
    if not stale and rank is not None and event_at is not None and event_at == last:
        current = {name: getattr(row, name) for name in fields}
        stale = rank(fields) < rank(current)
    if stale:
        logger.info("stripe_snapshot_stale", extra={"object": stripe_id})
        return SyncResult(row, False, False, False, newer=False)
    before = {name: getattr(row, _attname(row, name)) for name in fields}
    changed = assign(row, fields)
    moved = event_at is not None and event_at != last
    if event_at is not None:
        setattr(row, "last_event_at", event_at)  # noqa: B010 - M is any synced model
    if changed or moved:
        row.save()
    return SyncResult(row, False, True, changed, before, moved or event_at is None)


def status_rank(
    order: Mapping[str, int], key: str = "status"
) -> Callable[[Mapping[str, Any]], int]:
    """A `rank` for `snapshot_write` from a status order (unknown statuses rank 0)."""

    def rank(values: Mapping[str, Any]) -> int:
        return order.get(str(values.get(key) or ""), 0)

    return rank


@lru_cache(maxsize=32)
def _locked_row_sql(model: type[models.Model], alias: str) -> str:
    """`SELECT … FOR UPDATE` of one synced row by its Stripe id, written once per model: the
    ORM compiled the same query anew for every event (a sixth of a payment event's worker
    time, bench/processing_throughput.py). A raw query still applies every field's
    database converters."""
    meta = model._meta
    connection = connections[alias]
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    columns = ", ".join(quote(str(field.column)) for field in meta.concrete_fields)
    lookup = quote(str(meta.get_field("stripe_id").column))  # type: ignore[union-attr]
    # Identifiers come from model metadata; the Stripe id is a parameter.
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {lookup} = %s{lock}"  # noqa: S608  # nosec B608
