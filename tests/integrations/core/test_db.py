"""`fetchall_prepared`: a server-side prepared statement that Django's tooling still sees."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from integrations.core.db import fetchall_prepared
from tests.webhooks.factories import fake_secret, make_endpoint, signed_stripe_headers, stripe_body
from webhooks.selectors import webhook_endpoint_config_get

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_it_prepares_on_postgresql_and_answers_rows():
    sql = "SELECT %s::int + 1, %s::text"
    assert fetchall_prepared(connection, sql, [41, "x"]) == [(42, "x")]
    assert fetchall_prepared(connection, sql, [1, "y"]) == [(2, "y")]
    assert any("$1::int + 1" in statement for statement in _prepared())


@pytest.mark.postgres
def test_a_host_that_switched_preparing_off_keeps_it_off():
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["prepare_threshold"] = None
    try:
        connection.ensure_connection()
        connection.connection.prepare_threshold = None
        sql = "SELECT %s::int - 1 AS host_said_no"
        assert fetchall_prepared(connection, sql, [5]) == [(4,)]
        assert not [s for s in _prepared() if "host_said_no" in s]
    finally:
        del options["prepare_threshold"]


@pytest.mark.postgres
def test_prepared_false_runs_it_plainly():
    sql = "SELECT %s::int * 3 AS not_prepared_here"
    assert fetchall_prepared(connection, sql, [5], prepared=False) == [(15,)]
    assert not [s for s in _prepared() if "not_prepared_here" in s]


def test_execute_wrappers_and_captured_queries_see_it():
    seen: list[str] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper), CaptureQueriesContext(connection) as queries:
        assert fetchall_prepared(connection, "SELECT %s", [7]) == [(7,)]
    assert seen == ["SELECT %s"]
    # SQLite logs the statement with its values, PostgreSQL the statement as prepared.
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"] in ("SELECT %s", "SELECT 7")


def test_database_errors_arrive_as_django_errors():
    endpoint = make_endpoint()
    table = endpoint._meta.db_table
    with pytest.raises(IntegrityError):
        fetchall_prepared(
            connection,
            f"INSERT INTO {table} (id, slug) SELECT id, slug FROM {table} WHERE id = %s "  # noqa: S608
            "RETURNING id",
            [endpoint.pk],
        )


@pytest.mark.postgres
@pytest.mark.parametrize("enabled", [True, False])
def test_the_receive_views_insert_is_prepared_unless_switched_off(client, settings, enabled):
    settings.LIAISON_PREPARED_STATEMENTS = enabled
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    webhook_endpoint_config_get(slug=endpoint.slug)
    body = stripe_body()
    response = client.post(
        f"/webhooks/{endpoint.slug}/",
        data=body,
        content_type="application/json",
        **signed_stripe_headers(body, secret),
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    inserts = [s for s in _prepared() if "INSERT INTO" in s and "webhookevent" in s]
    assert bool(inserts) is enabled
