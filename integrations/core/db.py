"""Hot statements: `fetchall_prepared` (a server-side prepared statement) and
`row_insert_if_absent` (one `INSERT … ON CONFLICT DO NOTHING` built from a model).

Django's psycopg 3 backend binds parameters on the client by default: every execution sends
the whole statement text with the values spliced in (a 3 KB webhook body becomes a 6 KB hex
literal PostgreSQL parses again) and PostgreSQL plans it again. For the few statements Liaison
runs thousands of times a second with the same text (the receive view's INSERT), that parse
and plan is a measurable share of the request (bench/webhook_ingest.py: about 0.08 ms of
database time and 0.05 ms of Python per delivery on the reference machine). psycopg prepares
a statement per connection when asked (`execute(..., prepare=True)`), and Django has no way
to ask for one statement only (its `prepare_threshold` option switches preparing on for every
query of a connection, and needs server-side binding for all of them), hence this helper.

It goes through Django's cursor all the same: the connection health check, the host's
`connection.execute_wrapper()` hooks, `django.db.backends` debug logging and
`CaptureQueriesContext` see the statement, and psycopg errors arrive as `django.db` errors.
Elsewhere (SQLite, psycopg 2, or `prepared=False`) it is a plain `cursor.execute`. Even
where preparing is not allowed (below), the parameters are bound on the server, which spares
the splicing and re-parsing of large values.

Prepared statements belong to one server connection: behind a transaction-pooling PgBouncer
older than 1.21 they fail: `LIAISON_PREPARED_STATEMENTS = False` switches them off (the values
are still bound on the server).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper

from integrations.core import conf

# A `prepare_threshold` no statement reaches: only `prepare=True` ones are prepared.
_ONLY_WHEN_ASKED = 2**31 - 1

try:  # psycopg 3; Django also runs on psycopg 2, where nothing is prepared here
    import psycopg
except ImportError:  # pragma: no cover - psycopg 3 is a dependency
    psycopg = None  # type: ignore[assignment]


def fetchall_prepared(
    connection: BaseDatabaseWrapper,
    sql: str,
    params: Sequence[Any],
    *,
    prepared: bool | None = None,
) -> list[tuple[Any, ...]]:
    """Execute `sql` with `params` on `connection` and return every row it returned;
    `prepared` None: as `LIAISON_PREPARED_STATEMENTS` says."""
    if prepared is None:
        prepared = conf.prepared_statements()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if not (prepared and _can_prepare(connection, raw)):
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        server = psycopg.Cursor(raw.connection)
        prepare = _allow_explicit_prepare(connection, raw.connection)

        def execute(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
            with connection.wrap_database_errors:
                server.execute(sql, params, prepare=prepare)

        if isinstance(cursor, CursorDebugWrapper):
            with cursor.debug_sql(sql, params):
                cursor._execute_with_wrappers(sql, params, many=False, executor=execute)
        else:
            cursor._execute_with_wrappers(sql, params, many=False, executor=execute)
        with connection.wrap_database_errors:
            try:
                return server.fetchall()
            finally:
                server.close()


def _allow_explicit_prepare(connection: BaseDatabaseWrapper, pg: Any) -> bool:
    """Whether psycopg may prepare on this connection, allowing it when Django left it off.

    psycopg ignores `prepare=True` while the connection's `prepare_threshold` is None, which
    is what Django sets unless `DATABASES[...]["OPTIONS"]` names one. Then the threshold is
    raised to a count no statement reaches, so only statements that ask are prepared (Django's
    own client-side-binding cursors never prepare, whatever the threshold). A host that set
    `prepare_threshold` itself keeps its choice (None there: bound on the server, never
    prepared).
    """
    if pg.prepare_threshold is None:
        if "prepare_threshold" in connection.settings_dict.get("OPTIONS", {}):
            return False
        pg.prepare_threshold = _ONLY_WHEN_ASKED
    return True


def _can_prepare(connection: BaseDatabaseWrapper, raw: Any) -> bool:
    return (
        connection.vendor == "postgresql"
        and psycopg is not None
        and isinstance(getattr(raw, "connection", None), psycopg.Connection)
    )


def row_insert_if_absent(
    row: models.Model,
    *,
    unique_field: str,
    related_by: Mapping[str, tuple[str, object]] | None = None,
) -> bool:
    """Insert `row` unless a row with the same `unique_field` exists; True (and `row.pk` set)
    when inserted.

    One `INSERT … ON CONFLICT (<unique_field>) DO NOTHING RETURNING <pk>` (PostgreSQL, and
    SQLite ≥ 3.35): a concurrent writer of the same key makes it wait, then insert nothing,
    so no savepoint is needed to survive the race (a caught IntegrityError would need one).
    `related_by` sets foreign keys in the same statement: `{"customer": ("stripe_id", "cus_1")}`
    stores the id of the Customer whose `stripe_id` is `cus_1` (NULL when there is none), so
    the caller needs no SELECT for a row it may not create. Model `save()` signals are not
    sent. Shared by the writers that record "at most one row per key" (outbox rows, keyed
    emails, synced Stripe objects). On PostgreSQL a prepared statement per model
    (`fetchall_prepared`): the same few statements run for every processed event.
    """
    model = type(row)
    alias = router.db_for_write(model, instance=row)
    connection = connections[alias]
    related = tuple(sorted((name, target) for name, (target, _) in (related_by or {}).items()))
    given = related_by or {}
    fields = _insert_fields(model, unique_field)
    values: list[Any] = [
        given[field.name][1]
        if field.name in given
        else field.get_db_prep_save(field.pre_save(row, True), connection)  # auto_now(_add)
        for field in fields
    ]
    rows = fetchall_prepared(connection, _insert_sql(model, alias, unique_field, related), values)
    if not rows:
        return False
    inserted = rows[0]
    row.pk = inserted[0]
    for (name, _target), value in zip(related, inserted[1:], strict=True):
        setattr(row, model._meta.get_field(name).attname, value)  # type: ignore[union-attr]
    row._state.adding = False
    row._state.db = alias
    return True


@lru_cache(maxsize=64)
def _insert_fields(model: type[models.Model], unique_field: str) -> tuple[models.Field, ...]:
    meta = model._meta
    unique = meta.get_field(unique_field)
    if not (isinstance(unique, models.Field) and unique.unique):
        raise ValueError(f"{meta.label}.{unique_field} is not a unique field.")
    return tuple(
        field
        for field in meta.local_concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    )


@lru_cache(maxsize=64)
def _insert_sql(
    model: type[models.Model],
    alias: str,
    unique_field: str,
    related: tuple[tuple[str, str], ...] = (),
) -> str:
    quote = connections[alias].ops.quote_name
    meta = model._meta
    fields = _insert_fields(model, unique_field)
    targets = dict(related)
    placeholders = []
    for field in fields:
        if field.name in targets:
            target = field.related_model._meta  # type: ignore[union-attr]
            lookup = quote(str(target.get_field(targets[field.name]).column))  # type: ignore[union-attr]
            placeholders.append(
                f"(SELECT {quote(str(target.pk.column))} FROM {quote(target.db_table)} "  # noqa: S608  # nosec B608
                f"WHERE {lookup} = %s)"
            )
        else:
            placeholders.append("%s")
    columns = ", ".join(quote(str(field.column)) for field in fields)
    conflict = quote(str(next(f.column for f in fields if f.name == unique_field)))
    returning = [quote(str(meta.pk.column))] + [
        quote(str(next(f.column for f in fields if f.name == name))) for name, _ in related
    ]
    # Identifiers come from model metadata; every value is a query parameter.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608  # nosec B608
        f"VALUES ({', '.join(placeholders)}) "
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {', '.join(returning)}"
    )
