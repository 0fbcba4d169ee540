"""Counters and rollups of the event log, so staff reads never count or scan it.

Kept by database triggers on `WebhookEvent` (installed by migrations 0004 and 0005, for
PostgreSQL and SQLite), not by Python code: every writer is counted alike — ingest, workers,
replay, the admin, the dispatcher, pruning, test factories, raw SQL — in the same statement
(so the same transaction) as the change. SQLite uses row-level triggers. PostgreSQL:

- updates and deletes: statement-level triggers with transition tables (one upsert per
  statement, whatever number of rows it touched);
- an insert of a `pending` row (every delivery the receive view stores): a row-level trigger
  (`WHEN (NEW.status = 'pending')`, so nothing else runs) appends one narrow row to
  `WebhookEventArrival`. Upserting four counter rows inside the receive view's INSERT was
  about 0.08 ms of database CPU per delivery under load (bench/webhook_ingest.py), a third
  of the INSERT; the append costs a tenth of that. `arrivals_fold()` later moves a batch of
  arrivals into `received`, `status:pending`, the hourly `received` and the event types in
  one statement: it runs after every processing batch and in every dispatcher pass (beat,
  `manage.py webhook_dispatch_due`). It deletes only the arrivals its snapshot sees
  (committed), each exactly once (`FOR UPDATE SKIP LOCKED`: concurrent folds take disjoint
  rows), in the transaction that adds them up, so nothing is counted twice or lost. Until
  then `status:pending` may read below the truth (the worker's claim already took its -1);
  readers add the arrivals not yet folded, so what they return is exact;
- an insert of any other status (fixtures, restores, raw SQL): a row-level trigger with the
  generic accounting of the update trigger.

- `WebhookEventTally(endpoint_id, name, shard, value)`: `status:<s>` = events in status `s`
  now (+1 entering, -1 leaving or deleted); monotonic totals `received`, `outcome:<s>` (each
  entry into processed/ignored/failed/dead), `duration_us`, `duration_count`,
  `duration_le:<bound>` (claim → outcome, one histogram bucket per outcome, not cumulative);
  `rejected:<reason>` is added by the ingest service (no row changes then); duplicates are
  counted in the shared cache (`duplicates_add`) so a duplicate stays one statement.
- `WebhookEventHourly(endpoint_id, hour, name, shard, value)`: `received` by the hour
  received; `outcome:<s>`, `duration_us`, `duration_count` by the hour of the outcome.
- `WebhookEventType(endpoint, event_type)`: each type stored on an endpoint, for the admin's
  filter (`INSERT … ON CONFLICT DO NOTHING`: one unique-index probe per insert or fold).

Concurrent writers spread over `SHARDS` rows per counter (a random one per statement): a
counter row stays locked until its transaction commits (an fsync), so writers sharing one
row would commit one after the other; on distinct rows they commit together. Readers sum
the shards. Readers cost a few
hundred small rows whatever the size of the log.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour

from webhooks.models import (
    WebhookEvent,
    WebhookEventArrival,
    WebhookEventHourly,
    WebhookEventTally,
    WebhookEventType,
)

logger = logging.getLogger(__name__)

SHARDS = 16
FINAL_STATUSES = ("processed", "ignored", "failed", "dead")
# Prometheus' default buckets (seconds) for the processing duration histogram.
DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
INF = "+Inf"

EVENTS = "liaison_webhooks_webhookevent"
TALLY = "liaison_webhooks_webhookeventtally"
HOURLY = "liaison_webhooks_webhookeventhourly"
TYPES = "liaison_webhooks_webhookeventtype"
ARRIVALS = "liaison_webhooks_webhookeventarrival"
ENDPOINTS = "liaison_webhooks_webhookendpoint"
# Arrivals one fold moves at most (one statement; a few milliseconds).
FOLD_BATCH = 5000


def bucket_label(bound: float) -> str:
    return f"{bound:g}"


# --- trigger SQL -----------------------------------------------------------------------------


def _finals() -> str:
    return ", ".join(f"'{status}'" for status in FINAL_STATUSES)


def _bucket_case(seconds: str) -> str:
    whens = " ".join(
        f"WHEN {seconds} <= {bound!r} THEN 'duration_le:{bucket_label(bound)}'"
        for bound in DURATION_BUCKETS
    )
    return f"CASE {whens} ELSE 'duration_le:{INF}' END"


def _entering_rows(r: str, *, seconds: str, insert: bool) -> str:
    """(name, delta) rows for row alias `r` entering its status (a UNION ALL body)."""
    final = f"{r}.status IN ({_finals()})"
    timed = f"{final} AND {r}.claimed_at IS NOT NULL"
    parts = [f"SELECT 'status:' || {r}.status AS name, 1 AS delta"]
    if insert:
        parts.append("SELECT 'received', 1")
    parts += [
        f"SELECT 'outcome:' || {r}.status, 1 WHERE {final}",
        f"SELECT 'duration_count', 1 WHERE {timed}",
        f"SELECT 'duration_us', CAST(({seconds}) * 1000000 AS BIGINT) WHERE {timed}",
        f"SELECT {_bucket_case(seconds)}, 1 WHERE {timed}",
    ]
    return " UNION ALL ".join(parts)


def _hourly_rows(r: str, *, seconds: str, insert: bool, hour_of: str, outcome_hour: str) -> str:
    """(hour, name, delta) rows for the hourly rollup (a UNION ALL body)."""
    final = f"{r}.status IN ({_finals()})"
    timed = f"{final} AND {r}.claimed_at IS NOT NULL"
    rows: list[tuple[str, str, str, str]] = []
    if insert:
        rows.append((hour_of, "'received'", "1", ""))
    rows += [
        (outcome_hour, f"'outcome:' || {r}.status", "1", f"WHERE {final}"),
        (outcome_hour, "'duration_count'", "1", f"WHERE {timed}"),
        (
            outcome_hour,
            "'duration_us'",
            f"CAST(({seconds}) * 1000000 AS BIGINT)",
            f"WHERE {timed}",
        ),
    ]
    parts = []
    for index, (hour, name, delta, where) in enumerate(rows):
        if index == 0:
            parts.append(f"SELECT {hour} AS hour, {name} AS name, {delta} AS delta {where}")
        else:
            parts.append(f"SELECT {hour}, {name}, {delta} {where}")
    return " UNION ALL ".join(parts)


def _pg_hour(expr: str) -> str:
    return f"(date_trunc('hour', ({expr}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


_PG_UPSERT_TALLY = (
    f"ON CONFLICT (endpoint_id, name, shard) DO UPDATE SET value = {TALLY}.value + EXCLUDED.value"  # nosec B608 - constants
)
_PG_UPSERT_HOURLY = (
    f"ON CONFLICT (endpoint_id, hour, name, shard) "  # nosec B608 - constants
    f"DO UPDATE SET value = {HOURLY}.value + EXCLUDED.value"
)


def _pg_sql(*, arrivals: bool = True) -> list[str]:
    """The PostgreSQL trigger functions and triggers; `arrivals=False` is migration 0004's
    set (pending inserts counted inside the INSERT, by the statement-level trigger)."""

    def seconds(r: str, fallback: str) -> str:
        return (
            f"GREATEST(0, EXTRACT(EPOCH FROM (COALESCE({r}.processed_at, {fallback}) "
            f"- {r}.claimed_at)))"
        )

    shard = f"CAST(floor(random() * {SHARDS}) AS SMALLINT)"

    def body(source: str, rows: str, hourly: str | None, where: str = "") -> str:
        sql = (
            f"INSERT INTO {TALLY} (endpoint_id, name, shard, value) "  # noqa: S608  # nosec B608 - trigger text from constants
            f"SELECT r.endpoint_id, k.name, {shard}, SUM(k.delta) FROM {source} "
            f"CROSS JOIN LATERAL ({rows}) AS k {where} "
            f"GROUP BY r.endpoint_id, k.name HAVING SUM(k.delta) <> 0 {_PG_UPSERT_TALLY};"
        )
        if hourly:
            sql += (
                f" INSERT INTO {HOURLY} (endpoint_id, hour, name, shard, value) "  # noqa: S608  # nosec B608 - trigger text from constants
                f"SELECT r.endpoint_id, k.hour, k.name, {shard}, SUM(k.delta) FROM {source} "
                f"CROSS JOIN LATERAL ({hourly}) AS k {where} "
                f"GROUP BY r.endpoint_id, k.hour, k.name HAVING SUM(k.delta) <> 0 "
                f"{_PG_UPSERT_HOURLY};"
            )
        return sql

    def inserted(source: str) -> str:
        """The generic accounting of inserted rows `r` (any status) from `source`."""
        return body(
            source,
            _entering_rows("r", seconds=seconds("r", "r.received_at"), insert=True),
            _hourly_rows(
                "r",
                seconds=seconds("r", "r.received_at"),
                insert=True,
                hour_of=_pg_hour("r.received_at"),
                outcome_hour=_pg_hour("COALESCE(r.processed_at, r.received_at)"),
            ),
        )

    ins = inserted("new_rows AS r")
    # Ingestion inserts only `pending` rows: for them the counts reduce to "received" and
    # "status:pending" (and the hourly "received"), which a plain GROUP BY computes without
    # the generic row expansion above (measured: about a third of the trigger's cost per
    # delivery). Any other insert (fixtures, restores, raw SQL) takes the generic path.
    ingest = (
        f"INSERT INTO {TALLY} (endpoint_id, name, shard, value) "  # noqa: S608  # nosec B608 - trigger text from constants
        f"SELECT r.endpoint_id, v.name, {shard}, COUNT(*) FROM new_rows AS r "
        f"CROSS JOIN (VALUES ('status:pending'), ('received')) AS v(name) "
        f"GROUP BY r.endpoint_id, v.name {_PG_UPSERT_TALLY}; "
        f"INSERT INTO {HOURLY} (endpoint_id, hour, name, shard, value) "  # nosec B608 - trigger text from constants
        f"SELECT r.endpoint_id, {_pg_hour('r.received_at')}, 'received', {shard}, COUNT(*) "
        f"FROM new_rows AS r GROUP BY r.endpoint_id, 2 {_PG_UPSERT_HOURLY};"
    )
    ins = (
        f"IF EXISTS (SELECT 1 FROM new_rows WHERE status <> 'pending') THEN {ins} "  # noqa: S608  # nosec B608 - constants
        f"ELSE {ingest} END IF;"
    )
    ins += (
        f" INSERT INTO {TYPES} (endpoint_id, event_type, first_seen_at) "  # noqa: S608  # nosec B608 - constants
        f"SELECT DISTINCT r.endpoint_id, r.event_type, now() FROM new_rows AS r "
        f"WHERE r.event_type <> '' ON CONFLICT (endpoint_id, event_type) DO NOTHING;"
    )
    changed = "JOIN old_rows AS o ON o.id = r.id WHERE o.status IS DISTINCT FROM r.status"
    upd_in = body(
        "new_rows AS r " + changed.split(" WHERE ")[0],
        _entering_rows("r", seconds=seconds("r", "now()"), insert=False),
        _hourly_rows(
            "r",
            seconds=seconds("r", "now()"),
            insert=False,
            hour_of="",
            outcome_hour=_pg_hour("COALESCE(r.processed_at, now())"),
        ),
        where="WHERE " + changed.split(" WHERE ")[1],
    )
    upd_out = body(
        "old_rows AS r JOIN new_rows AS n ON n.id = r.id",
        "SELECT 'status:' || r.status AS name, -1 AS delta",
        None,
        where="WHERE n.status IS DISTINCT FROM r.status",
    )
    delete = body("old_rows AS r", "SELECT 'status:' || r.status AS name, -1 AS delta", None)
    statement = "FOR EACH STATEMENT"
    triggers = [
        ("tally_ins", "INSERT", f"REFERENCING NEW TABLE AS new_rows {statement}", ins),
        (
            "tally_upd",
            "UPDATE",
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {statement}",
            upd_out + " " + upd_in,
        ),
        ("tally_del", "DELETE", f"REFERENCING OLD TABLE AS old_rows {statement}", delete),
    ]
    if arrivals:
        # The one row, under the names the generic accounting reads (`r.<column>`).
        row = (
            "(SELECT NEW.endpoint_id AS endpoint_id, NEW.status AS status, "
            "NEW.received_at AS received_at, NEW.processed_at AS processed_at, "
            "NEW.claimed_at AS claimed_at, NEW.event_type AS event_type) AS r"
        )
        generic = inserted(row) + (
            f" INSERT INTO {TYPES} (endpoint_id, event_type, first_seen_at) "  # nosec B608 - constants
            f"SELECT NEW.endpoint_id, NEW.event_type, now() WHERE NEW.event_type <> '' "
            f"ON CONFLICT (endpoint_id, event_type) DO NOTHING;"
        )
        arrival = (
            f"INSERT INTO {ARRIVALS} (endpoint_id, event_type, received_at) "  # noqa: S608  # nosec B608 - constants
            f"VALUES (NEW.endpoint_id, NEW.event_type, NEW.received_at);"
        )
        triggers[0] = (
            "tally_ins",
            "INSERT",
            "FOR EACH ROW WHEN (NEW.status <> 'pending')",
            generic,
        )
        pending_only = "FOR EACH ROW WHEN (NEW.status = 'pending')"
        triggers.append(("arrival", "INSERT", pending_only, arrival))
    statements = []
    for name, event, how, sql in triggers:
        function = f"liaison_wh_event_{name}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {sql} RETURN NULL; END $$;"
        )
        statements.append(f"DROP TRIGGER IF EXISTS {function} ON {EVENTS};")
        statements.append(
            f"CREATE TRIGGER {function} AFTER {event} ON {EVENTS} {how} "
            f"EXECUTE FUNCTION {function}();"
        )
    if not arrivals:
        statements.append(f"DROP TRIGGER IF EXISTS liaison_wh_event_arrival ON {EVENTS};")
        statements.append("DROP FUNCTION IF EXISTS liaison_wh_event_arrival();")
    return statements


def _sqlite_hour(expr: str) -> str:
    return f"strftime('%Y-%m-%d %H:00:00', {expr})"


_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _sqlite_sql() -> list[str]:
    def seconds(r: str, fallback: str) -> str:
        return (
            f"MAX(0, (julianday(COALESCE({r}.processed_at, {fallback})) "
            f"- julianday({r}.claimed_at)) * 86400.0)"
        )

    def tally(r: str, rows: str) -> str:
        return (
            f"INSERT INTO {TALLY} (endpoint_id, name, shard, value) "  # noqa: S608  # nosec B608 - trigger text from constants
            f"SELECT {r}.endpoint_id, k.name, 0, SUM(k.delta) FROM ({rows}) AS k WHERE 1 "
            f"GROUP BY k.name HAVING SUM(k.delta) <> 0 "
            f"ON CONFLICT (endpoint_id, name, shard) "
            f"DO UPDATE SET value = value + excluded.value;"
        )

    def hourly(r: str, rows: str) -> str:
        return (
            f"INSERT INTO {HOURLY} (endpoint_id, hour, name, shard, value) "  # noqa: S608  # nosec B608 - trigger text from constants
            f"SELECT {r}.endpoint_id, k.hour, k.name, 0, SUM(k.delta) FROM ({rows}) AS k "
            f"WHERE 1 GROUP BY k.hour, k.name HAVING SUM(k.delta) <> 0 "
            f"ON CONFLICT (endpoint_id, hour, name, shard) "
            f"DO UPDATE SET value = value + excluded.value;"
        )

    ins = tally(
        "NEW", _entering_rows("NEW", seconds=seconds("NEW", "NEW.received_at"), insert=True)
    ) + hourly(
        "NEW",
        _hourly_rows(
            "NEW",
            seconds=seconds("NEW", "NEW.received_at"),
            insert=True,
            hour_of=_sqlite_hour("NEW.received_at"),
            outcome_hour=_sqlite_hour("COALESCE(NEW.processed_at, NEW.received_at)"),
        ),
    )
    ins += (
        f"INSERT INTO {TYPES} (endpoint_id, event_type, first_seen_at) "  # nosec B608 - constants
        f"SELECT NEW.endpoint_id, NEW.event_type, {_SQLITE_NOW} WHERE NEW.event_type <> '' "
        f"ON CONFLICT (endpoint_id, event_type) DO NOTHING;"
    )
    upd = (
        tally("OLD", "SELECT 'status:' || OLD.status AS name, -1 AS delta")
        + tally("NEW", _entering_rows("NEW", seconds=seconds("NEW", _SQLITE_NOW), insert=False))
        + hourly(
            "NEW",
            _hourly_rows(
                "NEW",
                seconds=seconds("NEW", _SQLITE_NOW),
                insert=False,
                hour_of="",
                outcome_hour=_sqlite_hour(f"COALESCE(NEW.processed_at, {_SQLITE_NOW})"),
            ),
        )
    )
    delete = tally("OLD", "SELECT 'status:' || OLD.status AS name, -1 AS delta")
    statements = []
    for name, event in (
        ("ins", "AFTER INSERT ON"),
        ("upd", "AFTER UPDATE OF status ON"),
        ("del", "AFTER DELETE ON"),
    ):
        trigger = f"liaison_wh_event_tally_{name}"
        when = " WHEN OLD.status IS NOT NEW.status" if name == "upd" else ""
        sql = {"ins": ins, "upd": upd, "del": delete}[name]
        statements.append(f"DROP TRIGGER IF EXISTS {trigger};")
        statements.append(
            f"CREATE TRIGGER {trigger} {event} {EVENTS} FOR EACH ROW{when} BEGIN {sql} END;"
        )
    return statements


def triggers_install(connection: BaseDatabaseWrapper, *, arrivals: bool = True) -> None:
    """Create (or replace) the counting triggers on `connection` (PostgreSQL or SQLite);
    `arrivals=False`: PostgreSQL's set before the arrival journal (migration 0004)."""
    if connection.vendor == "postgresql":
        statements = _pg_sql(arrivals=arrivals)
    elif connection.vendor == "sqlite":
        statements = _sqlite_sql()
    else:
        raise ImproperlyConfigured(
            f"Liaison's webhook event counters need PostgreSQL or SQLite; the database "
            f"{connection.alias!r} is {connection.vendor}. Point DATABASES[{connection.alias!r}] "
            "(DATABASE_URL) at one of them."
        )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def triggers_drop(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for name in ("tally_ins", "tally_upd", "tally_del", "arrival"):
            trigger = f"liaison_wh_event_{name}"
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {EVENTS};")
                cursor.execute(f"DROP FUNCTION IF EXISTS {trigger}();")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger};")


def counters_rebuild(
    connection: BaseDatabaseWrapper | None = None, *, arrivals: bool = True
) -> None:
    """Recount the current status counts, `received`, the hourly `received` rollup and the
    event types from the log, replacing the arrivals not yet folded (one scan: the migration
    that adds the counters, `manage.py webhook_counters_rebuild`). Monotonic outcome and
    duration totals start from zero. `arrivals=False`: before the journal exists (0004)."""
    connection = connection or connections[router.db_for_write(WebhookEvent)]
    if connection.in_atomic_block:  # the caller's transaction (a migration, a test)
        _recount(connection, arrivals=arrivals)
        return
    with transaction.atomic(using=connection.alias):
        if connection.vendor == "postgresql":
            # One snapshot for the scan and the arrivals it replaces: an event committed in
            # between would otherwise be counted by both, or by neither.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _recount(connection, arrivals=arrivals)


def _recount(connection: BaseDatabaseWrapper, *, arrivals: bool) -> None:
    postgres = connection.vendor == "postgresql"
    hour = _pg_hour("received_at") if postgres else _sqlite_hour("received_at")
    now = "now()" if postgres else _SQLITE_NOW
    with connection.cursor() as cursor:
        if postgres and arrivals:
            cursor.execute(f"DELETE FROM {ARRIVALS}")  # noqa: S608  # nosec B608
        cursor.execute(
            f"INSERT INTO {TYPES} (endpoint_id, event_type, first_seen_at) "  # noqa: S608  # nosec B608
            f"SELECT DISTINCT endpoint_id, event_type, {now} FROM {EVENTS} "
            f"WHERE event_type <> '' ON CONFLICT (endpoint_id, event_type) DO NOTHING"
        )
        cursor.execute(f"DELETE FROM {TALLY} WHERE name LIKE 'status:%%' OR name = 'received'")  # noqa: S608  # nosec B608
        cursor.execute(f"DELETE FROM {HOURLY} WHERE name = 'received'")  # noqa: S608  # nosec B608
        cursor.execute(
            f"INSERT INTO {TALLY} (endpoint_id, name, shard, value) "  # noqa: S608  # nosec B608
            f"SELECT endpoint_id, 'status:' || status, 0, COUNT(*) FROM {EVENTS} "
            f"GROUP BY endpoint_id, status"
        )
        cursor.execute(
            f"INSERT INTO {TALLY} (endpoint_id, name, shard, value) "  # noqa: S608  # nosec B608
            f"SELECT endpoint_id, 'received', 0, COUNT(*) FROM {EVENTS} GROUP BY endpoint_id"
        )
        cursor.execute(
            f"INSERT INTO {HOURLY} (endpoint_id, hour, name, shard, value) "  # noqa: S608  # nosec B608
            f"SELECT endpoint_id, {hour}, 'received', 0, COUNT(*) FROM {EVENTS} "
            f"GROUP BY endpoint_id, {hour}"
        )


# --- the arrival journal (PostgreSQL) -----------------------------------------------------------


def arrivals_fold(*, limit: int = FOLD_BATCH) -> int:
    """Move up to `limit` journaled arrivals into the counters; how many it moved. One
    statement, exactly once (see the module). SQLite counts inserts in its triggers: 0."""
    connection = connections[router.db_for_write(WebhookEventArrival)]
    if connection.vendor != "postgresql":
        return 0
    shard = secrets.randbelow(SHARDS)
    hour = _pg_hour("m.received_at")
    sql = (
        f"WITH moved AS (DELETE FROM {ARRIVALS} WHERE id IN ("  # noqa: S608  # nosec B608 - constants
        f"SELECT id FROM {ARRIVALS} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
        f"RETURNING endpoint_id, event_type, received_at), "
        f"tally AS (INSERT INTO {TALLY} (endpoint_id, name, shard, value) "
        f"SELECT m.endpoint_id, v.name, %s, COUNT(*) FROM moved AS m "
        f"CROSS JOIN (VALUES ('status:pending'), ('received')) AS v(name) "
        f"GROUP BY m.endpoint_id, v.name {_PG_UPSERT_TALLY}), "
        f"hourly AS (INSERT INTO {HOURLY} (endpoint_id, hour, name, shard, value) "
        f"SELECT m.endpoint_id, {hour}, 'received', %s, COUNT(*) FROM moved AS m "
        f"GROUP BY m.endpoint_id, 2 {_PG_UPSERT_HOURLY}), "
        # The endpoint may be gone since (its events went with it): types have a foreign key.
        f"types AS (INSERT INTO {TYPES} (endpoint_id, event_type, first_seen_at) "
        f"SELECT DISTINCT m.endpoint_id, m.event_type, now() FROM moved AS m "
        f"WHERE m.event_type <> '' AND EXISTS (SELECT 1 FROM {ENDPOINTS} AS e "
        f"WHERE e.id = m.endpoint_id) ON CONFLICT (endpoint_id, event_type) DO NOTHING) "
        f"SELECT COUNT(*) FROM moved"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit, shard, shard])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def arrivals_fold_all(*, limit: int = FOLD_BATCH) -> int:
    """Fold until the journal is empty (the dispatcher's pass); how many it moved."""
    moved = total = arrivals_fold(limit=limit)
    while moved >= limit:
        moved = arrivals_fold(limit=limit)
        total += moved
    return total


def arrivals_fold_logged(*, every: bool = False) -> None:
    """Fold one batch (or `every` one) and never fail the caller (processing, dispatcher):
    on a database error the arrivals stay journaled, readers add them, the next fold takes
    them."""
    try:
        arrivals_fold_all() if every else arrivals_fold()
    except DatabaseError as exc:
        logger.warning("webhook_counters_fold_failed", extra={"error": type(exc).__name__})


# --- written from Python (no row of the log changes) -------------------------------------------


def tally_add(*, endpoint_id: int, name: str, value: int = 1) -> None:
    """Add `value` to a tally counter (`duplicate`, `rejected:<reason>`): one upsert."""
    connection = connections[router.db_for_write(WebhookEventTally)]
    shard = secrets.randbelow(SHARDS) if connection.vendor == "postgresql" else 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TALLY} (endpoint_id, name, shard, value) VALUES (%s, %s, %s, %s) "  # noqa: S608  # nosec B608
            f"ON CONFLICT (endpoint_id, name, shard) DO UPDATE SET value = {TALLY}.value + "
            f"excluded.value",
            [endpoint_id, name[:80], shard, value],
        )


_DUPLICATES_KEY = "liaison:webhooks:duplicates:v1:{endpoint_id}"


def duplicates_add(*, endpoint_id: int, count: int) -> None:
    """Count events acknowledged as duplicates: in the shared cache (Redis when REDIS_URL is
    set), so a duplicate delivery stays one statement. Never raises."""
    from django.core.cache import cache

    key = _DUPLICATES_KEY.format(endpoint_id=endpoint_id)
    try:
        try:
            cache.incr(key, count)
        except ValueError:  # not there yet (add is atomic)
            if not cache.add(key, count, timeout=None):
                cache.incr(key, count)
    except Exception:
        return


def duplicates_totals(endpoint_ids: Iterable[int]) -> dict[int, int]:
    from django.core.cache import cache

    keys = {_DUPLICATES_KEY.format(endpoint_id=pk): pk for pk in endpoint_ids}
    try:
        values = cache.get_many(list(keys))
    except Exception:
        return {}
    return {keys[key]: int(value) for key, value in values.items()}


# --- reads (selectors) -------------------------------------------------------------------------


def tally_totals() -> dict[int, dict[str, int]]:
    """{endpoint id: {counter name: value}} summed over shards (a few hundred rows)."""
    result: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        WebhookEventTally.objects.order_by()
        .values_list("endpoint_id", "name")
        .annotate(total=Sum("value"))
    )
    for endpoint_id, name, total in rows:
        result[endpoint_id][name] = int(total or 0)
    # Stored events not folded yet (PostgreSQL; a batch or two behind at most).
    waiting = (
        WebhookEventArrival.objects.order_by().values_list("endpoint_id").annotate(n=Count("id"))
    )
    for endpoint_id, count in waiting:
        totals = result[endpoint_id]
        for name in ("received", "status:pending"):
            totals[name] = totals.get(name, 0) + count
    return dict(result)


def hourly_totals(*, since: datetime) -> dict[int, dict[tuple[datetime, str], int]]:
    """{endpoint id: {(hour, name): value}} for hours at or after `since`."""
    result: dict[int, dict[tuple[datetime, str], int]] = defaultdict(dict)
    rows = (
        WebhookEventHourly.objects.filter(hour__gte=since)
        .order_by()
        .values_list("endpoint_id", "hour", "name")
        .annotate(total=Sum("value"))
    )
    for endpoint_id, hour, name, total in rows:
        result[endpoint_id][(hour, name)] = int(total or 0)
    waiting = (
        WebhookEventArrival.objects.filter(received_at__gte=since)
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .order_by()
        .values_list("endpoint_id", "hour")
        .annotate(n=Count("id"))
    )
    for endpoint_id, hour, count in waiting:
        key = (hour, "received")
        result[endpoint_id][key] = result[endpoint_id].get(key, 0) + count
    return dict(result)


def event_types_seen(*, endpoint_id: int | None = None, limit: int = 500) -> list[str]:
    """The event types stored (on one endpoint, or any), sorted: the admin's type filter."""
    seen = WebhookEventType.objects.order_by("event_type")
    waiting = WebhookEventArrival.objects.exclude(event_type="").order_by()
    if endpoint_id is not None:
        seen = seen.filter(endpoint_id=endpoint_id)
        waiting = waiting.filter(endpoint_id=endpoint_id)
    types = set(seen.values_list("event_type", flat=True)[:limit])
    types.update(waiting.values_list("event_type", flat=True).distinct()[:limit])
    return sorted(types)[:limit]
