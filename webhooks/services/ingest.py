"""The hot path: verify a delivery, store its events in one insert, enqueue, acknowledge.

Exactly one query when the endpoint is cached: `INSERT … ON CONFLICT (endpoint, event id) DO
NOTHING RETURNING id`, on PostgreSQL a server-side prepared statement per connection
(`integrations.core.db.fetchall_prepared`; `LIAISON_PREPARED_STATEMENTS` switches that off). A
duplicate is stored once (and still acknowledged); only the rows that were really inserted
are enqueued, after commit. Rejections are recorded separately (bounded). The staff counters
and the event types seen are kept by triggers inside that INSERT (`webhooks.counters`; on
PostgreSQL a pending row only appends to the arrival journal there); duplicates are counted
in the shared cache.
The subject (the object an event is about) comes from the payload `parse()` already decoded.

Duplicate-body window (`WebhookEndpoint.duplicate_body_window_hours` > 0; for schemes whose
signature covers no timestamp or id, where captured bytes replayed under a fresh id verify
again): still one statement, `INSERT … SELECT … WHERE NOT EXISTS (a row of this endpoint with
the same body key received in the last N hours) … ON CONFLICT DO NOTHING RETURNING id`. The
body key is `<sha256 of the stored body>:<N>:<bucket>` with N-hour buckets; the lookup checks
the current and the previous bucket and the exact cutoff, and a partial unique index on
(endpoint, body key) makes two concurrent replays in one bucket conflict instead of both
inserting. Extra cost, only on such endpoints: one SHA-256 of the body and one probe plus one
entry of that partial index per event; endpoints without a window run the unchanged INSERT
(their rows leave the column NULL and skip the index). A delivery caught by the window is
answered like any duplicate (2xx, `duplicates` counted) and nothing new is processed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Field
from django.utils import timezone

from integrations.core.db import fetchall_prepared
from webhooks import conf
from webhooks.counters import duplicates_add, tally_add
from webhooks.exceptions import EventStorageError, MalformedPayload
from webhooks.models import VerificationFailure, VerificationFailureCount, WebhookEvent
from webhooks.providers import get_provider
from webhooks.providers.base import ImmediateResponse, IncomingDelivery, ParsedEvent
from webhooks.queue import webhook_events_enqueue_new
from webhooks.selectors import EndpointConfig

logger = logging.getLogger(__name__)

_EVENT_ID_MAX = WebhookEvent._meta.get_field("event_id").max_length or 255
_EVENT_TYPE_MAX = WebhookEvent._meta.get_field("event_type").max_length or 255
_SUBJECT_MAX = WebhookEvent._meta.get_field("subject").max_length or 255
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_INSERT_FIELDS = (
    "endpoint_id",
    "event_id",
    "event_type",
    "subject",
    "body",
    "headers",
    "received_at",
    "occurred_at",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
)


@dataclass(frozen=True)
class IngestResult:
    events: int
    stored: int
    response: ImmediateResponse | None = None

    @property
    def duplicates(self) -> int:
        return self.events - self.stored


def webhook_delivery_ingest(
    *, endpoint: EndpointConfig, delivery: IncomingDelivery
) -> IngestResult:
    """Verify, parse, store and enqueue one delivery.

    Raises a `DeliveryRejected` subclass (4xx, nothing stored), `WebhookConfigurationError`
    when the endpoint cannot verify anything, `EventStorageError` when the insert failed.
    """
    provider = get_provider(endpoint.provider)
    secrets = endpoint.secrets()
    provider.verify(delivery, secrets)
    events = provider.parse(delivery, secrets)
    if not events:
        raise MalformedPayload("The delivery holds no event.")
    response = provider.immediate_response(delivery, events)
    stored_headers = {
        name: delivery.headers[name]
        for name in (*provider.stored_headers, "content-type")
        if name in delivery.headers
    }
    received_at = datetime.fromtimestamp(delivery.received_at, tz=UTC)
    subjects = [_storable_subject(provider.event_subject(event)) for event in events]
    try:
        new_ids = _insert_events(
            endpoint_id=endpoint.id,
            events=events,
            headers=stored_headers,
            received_at=received_at,
            window_hours=endpoint.duplicate_body_window_hours,
            subjects=subjects,
        )
        if len(new_ids) < len(events):
            duplicates_add(endpoint_id=endpoint.id, count=len(events) - len(new_ids))
    except DatabaseError as exc:
        logger.error(
            "webhook_delivery_store_failed",
            extra={"endpoint": endpoint.slug, "error": type(exc).__name__},
        )
        raise EventStorageError("The delivery could not be stored.") from exc
    if new_ids:
        transaction.on_commit(partial(webhook_events_enqueue_new, event_pks=new_ids))
    return IngestResult(events=len(events), stored=len(new_ids), response=response)


def _storable_subject(value: object) -> str:
    """A subject the column can hold, else "" (it only helps staff find events: a sender's
    odd value must never fail the delivery)."""
    if not isinstance(value, str) or not value or len(value) > _SUBJECT_MAX:
        return ""
    return "" if _UNSTORABLE.search(value) else value


def _insert_events(
    *,
    endpoint_id: int,
    events: list[ParsedEvent],
    headers: dict[str, str],
    received_at: datetime,
    window_hours: int = 0,
    subjects: list[str] | None = None,
) -> list[int]:
    """One INSERT for every event of the delivery; the ids of the rows really inserted."""
    for event in events:
        if len(event.event_id) > _EVENT_ID_MAX:
            raise MalformedPayload("The event id is too long.")
    connection = connections[router.db_for_write(WebhookEvent)]
    subjects = subjects or [""] * len(events)
    if window_hours > 0:
        return _insert_events_windowed(
            connection=connection,
            endpoint_id=endpoint_id,
            events=events,
            headers=headers,
            received_at=received_at,
            window_hours=window_hours,
            subjects=subjects,
        )
    prepare = _value_adapters(connection.alias, connection.vendor)
    params: list[Any] = []
    for event, subject in zip(events, subjects, strict=True):
        values = _event_values(
            endpoint_id=endpoint_id,
            event=event,
            headers=headers,
            received_at=received_at,
            subject=subject,
        )
        params.extend(
            value if adapt is None else adapt(value)
            for adapt, value in zip(prepare, values, strict=True)
        )
    sql = _insert_sql(connection.alias, connection.ops.quote_name, len(events))
    return [row[0] for row in fetchall_prepared(connection, sql, params)]


def _event_values(
    *,
    endpoint_id: int,
    event: ParsedEvent,
    headers: dict[str, str],
    received_at: datetime,
    subject: str = "",
) -> tuple[Any, ...]:
    """The values of `_INSERT_FIELDS` for one event."""
    occurred_at = (
        datetime.fromtimestamp(event.occurred_at, tz=UTC) if event.occurred_at is not None else None
    )
    return (
        endpoint_id,
        event.event_id,
        event.event_type[:_EVENT_TYPE_MAX],
        subject,
        event.body,
        headers,
        received_at,
        occurred_at,
        WebhookEvent.Status.PENDING.value,
        0,
        received_at,
        "",
    )


def body_keys(body: bytes, *, window_hours: int, received_at: datetime) -> tuple[str, str]:
    """The body key of this bucket (stored) and of the previous one (looked up as well)."""
    digest = hashlib.sha256(body).hexdigest()
    bucket = int(received_at.timestamp() // (window_hours * 3600))
    return f"{digest}:{window_hours}:{bucket}", f"{digest}:{window_hours}:{bucket - 1}"


def _insert_events_windowed(
    *,
    connection: Any,
    endpoint_id: int,
    events: list[ParsedEvent],
    headers: dict[str, str],
    received_at: datetime,
    window_hours: int,
    subjects: list[str],
) -> list[int]:
    """The INSERT of endpoints with a duplicate-body window (one statement, see the module)."""
    fields = (*_insert_fields(), _body_key_field())
    date_field = WebhookEvent._meta.get_field("received_at")
    cutoff = date_field.get_db_prep_save(received_at - timedelta(hours=window_hours), connection)
    params: list[Any] = []
    for event, subject in zip(events, subjects, strict=True):
        current, previous = body_keys(
            event.body, window_hours=window_hours, received_at=received_at
        )
        values = (
            *_event_values(
                endpoint_id=endpoint_id,
                event=event,
                headers=headers,
                received_at=received_at,
                subject=subject,
            ),
            current,
        )
        params.extend(
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values, strict=True)
        )
        params.extend([endpoint_id, current, previous, cutoff])
    sql = _windowed_insert_sql(connection.alias, connection.vendor, len(events))
    return [row[0] for row in fetchall_prepared(connection, sql, params)]


@lru_cache(maxsize=1)
def _body_key_field() -> Field:
    field: Field = WebhookEvent._meta.get_field("body_key")
    return field


@lru_cache(maxsize=64)
def _windowed_insert_sql(alias: str, vendor: str, rows: int) -> str:
    """`INSERT … SELECT <row> WHERE NOT EXISTS (…) UNION ALL …` for `rows` events."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    meta = WebhookEvent._meta
    table = quote(meta.db_table)
    fields = (*_insert_fields(), _body_key_field())
    columns = ", ".join(quote(str(f.column)) for f in fields)
    # PostgreSQL types the literals of a UNION as text: cast each to its column's type.
    placeholders = ", ".join(
        f"CAST(%s AS {f.db_type(connection)})" if vendor == "postgresql" else "%s" for f in fields
    )
    exists = (
        f"SELECT 1 FROM {table} AS {quote('seen')} WHERE {quote('seen')}.{quote('endpoint_id')}"  # noqa: S608  # nosec B608
        f" = %s AND {quote('seen')}.{quote('body_key')} IN (%s, %s)"
        f" AND {quote('seen')}.{quote('received_at')} >= %s"
    )
    row_sql = f"SELECT {placeholders} WHERE NOT EXISTS ({exists})"
    return (
        # Identifiers come from model metadata; every value is a query parameter.
        f"INSERT INTO {table} ({columns}) "  # nosec B608
        + " UNION ALL ".join([row_sql] * rows)
        # No conflict target: a duplicate event id and a body key taken in this bucket (a
        # concurrent replay) are both skipped.
        + f" ON CONFLICT DO NOTHING RETURNING {quote(str(meta.pk.column))}"
    )


# `_event_values` builds every column but the JSON headers in the type psycopg takes as it
# is (ints, str, bytes, aware datetimes): on PostgreSQL those skip `get_db_prep_save`, which
# was a tenth of the view's own Python time. The headers (and every column elsewhere) are
# adapted.
_AS_BUILT_ON_POSTGRESQL = frozenset(_INSERT_FIELDS) - {"headers"}


@lru_cache(maxsize=8)
def _value_adapters(alias: str, vendor: str) -> tuple[Callable[[Any], Any] | None, ...]:
    """Per `_INSERT_FIELDS` column: None (the value goes as built) or its adapter."""
    connection = connections[alias]
    return tuple(
        None
        if vendor == "postgresql" and name in _AS_BUILT_ON_POSTGRESQL
        else partial(field.get_db_prep_save, connection=connection)
        for name, field in zip(_INSERT_FIELDS, _insert_fields(), strict=True)
    )


@lru_cache(maxsize=1)
def _insert_fields() -> tuple[Field, ...]:
    meta = WebhookEvent._meta
    return tuple(meta.get_field(name) for name in _INSERT_FIELDS)  # type: ignore[misc]


@lru_cache(maxsize=64)
def _insert_sql(alias: str, quote: Callable[[str], str], rows: int) -> str:
    """The INSERT for `rows` events (built once per database and batch size)."""
    meta = WebhookEvent._meta
    columns = ", ".join(quote(str(f.column)) for f in _insert_fields())
    row_sql = "(" + ", ".join(["%s"] * len(_INSERT_FIELDS)) + ")"
    return (
        # Identifiers come from model metadata; every value is a query parameter.
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608  # nosec B608
        + ", ".join([row_sql] * rows)
        + f" ON CONFLICT ({quote('endpoint_id')}, {quote('event_id')}) DO NOTHING"
        + f" RETURNING {quote(str(meta.pk.column))}"
    )


def webhook_verification_failure_record(
    *,
    endpoint_id: int,
    reason: str,
    detail: str = "",
    remote_addr: str | None = None,
    body_size: int = 0,
    now: datetime | None = None,
) -> None:
    """Count a rejected delivery (per endpoint, hour, reason) and keep the last few.

    Bounded: one counter row per hour and reason, and at most
    `WEBHOOKS_VERIFICATION_FAILURES_KEPT` detail rows per endpoint (older ones are trimmed
    here), so a flood of forged deliveries cannot fill the database. Never raises.
    """
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    try:
        with transaction.atomic():
            _count_failure(endpoint_id=endpoint_id, hour=hour, reason=reason)
            VerificationFailure.objects.create(
                endpoint_id=endpoint_id,
                reason=reason[:64],
                detail=detail[:255],
                remote_addr=remote_addr or None,
                body_size=body_size,
            )
            keep = conf.verification_failures_kept()
            boundary = (
                VerificationFailure.objects.filter(endpoint_id=endpoint_id)
                .order_by("-id")
                .values_list("id", flat=True)[keep : keep + 1]
            )
            oldest_kept = next(iter(boundary), None)
            if oldest_kept is not None:
                VerificationFailure.objects.filter(
                    endpoint_id=endpoint_id, id__lte=oldest_kept
                ).delete()
    except DatabaseError as exc:
        logger.warning(
            "webhook_verification_failure_not_recorded",
            extra={"endpoint": endpoint_id, "error": type(exc).__name__},
        )


def _count_failure(*, endpoint_id: int, hour: datetime, reason: str) -> None:
    connection = connections[router.db_for_write(VerificationFailureCount)]
    meta = VerificationFailureCount._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    hour_value = meta.get_field("hour").get_db_prep_save(hour, connection)
    sql = (
        f"INSERT INTO {table} ({quote('endpoint_id')}, {quote('hour')}, {quote('reason')}, "  # noqa: S608  # nosec B608
        f"{quote('count')}) VALUES (%s, %s, %s, 1) "
        f"ON CONFLICT ({quote('endpoint_id')}, {quote('hour')}, {quote('reason')}) "
        f"DO UPDATE SET {quote('count')} = {table}.{quote('count')} + 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [endpoint_id, hour_value, reason[:64]])
    # The monotonic total `/metrics` exports (the hourly rows above are pruned).
    tally_add(endpoint_id=endpoint_id, name=f"rejected:{reason[:64]}")
