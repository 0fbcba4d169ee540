"""`fetchall_prepared`: run one hot statement as a server-side prepared statement.

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
older than 1.21 they fail, so the caller's setting switches them off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper

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
    prepared: bool = True,
) -> list[tuple[Any, ...]]:
    """Execute `sql` with `params` on `connection` and return every row it returned."""
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
