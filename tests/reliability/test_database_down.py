"""Database down during ingestion: never a 2xx for a delivery that was not stored.

The server runs on a throwaway PostgreSQL cluster of its own, which the test shuts down
(immediate mode: every connection drops, as in a crash) while deliveries keep coming. Those
deliveries must get a 5xx — the provider then retries — and, once the database is back, the
retried deliveries are stored exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from tests.reliability.deliveries import Delivery, SigningEndpoint, post_all, sign_delivery
from tests.reliability.servers import (
    ThrowawayPostgres,
    manage,
    service_env,
    start_web_server,
)

DATABASE = "liaison_8a_down"
PROVIDERS = {"stripe": "whsec_test_dbdown", "github": "test-signing-dbdown"}


def _stored_keys(pg: ThrowawayPostgres) -> list[tuple[int, str]]:
    with psycopg.connect(pg.url(DATABASE)) as conn:
        rows = conn.execute(
            "SELECT endpoint_id, event_id FROM liaison_webhooks_webhookevent"
        ).fetchall()
    return [(int(endpoint_id), str(event_id)) for endpoint_id, event_id in rows]


@pytest.mark.postgres
def test_deliveries_get_5xx_while_the_database_is_down_and_are_stored_once_after(
    tmp_path: Path, report
):
    started = time.monotonic()
    pg = ThrowawayPostgres()
    try:
        pg.init()
        pg.start()
        pg.create_database(DATABASE)
        env = service_env(database_name=DATABASE, DATABASE_URL=pg.url(DATABASE))
        manage(env, "migrate", "--noinput")
        targets = []
        for provider, secret in PROVIDERS.items():
            slug = f"down-{provider}"
            manage(
                env, "webhook_endpoint", "create", "--provider", provider, "--slug", slug,
                "--secret", secret,
            )  # fmt: skip
            with psycopg.connect(pg.url(DATABASE)) as conn:
                row = conn.execute(
                    "SELECT id FROM liaison_webhooks_webhookendpoint WHERE slug = %s", [slug]
                ).fetchone()
            assert row is not None
            targets.append(SigningEndpoint(provider, slug, int(row[0]), secret))

        server = start_web_server(env, log=tmp_path / "server.log")
        try:
            base = server.base_url
            before = [sign_delivery(targets[i % 2], base) for i in range(20)]
            during = [sign_delivery(targets[i % 2], base) for i in range(40)]

            up = Counter(status for _, status in post_all(before, threads=8))
            assert set(up) == {200}, up

            pg.stop()
            # New deliveries, and retries of stored ones: none can be confirmed now.
            down = Counter(status for _, status in post_all([*during, *before], threads=8))
            assert all(500 <= status < 600 for status in down), down

            pg.start()
            # The provider retries each one (twice, concurrently, for good measure).
            back = Counter(status for _, status in post_all([*during, *during], threads=8))
            assert set(back) == {200}, back
            again = Counter(status for _, status in post_all(before, threads=8))
            assert set(again) == {200}, again
        finally:
            server.stop()

        stored = _stored_keys(pg)
        expected = {key for d in (*before, *during) for key in _keys(d)}
        assert len(stored) == len(set(stored)) == len(expected)
        assert set(stored) == expected
    finally:
        pg.destroy()
    report(
        "database down",
        stored_before=len(before),
        sent_while_down=sum(down.values()),
        responses_while_down=dict(down),
        resent_after=sum(back.values()) + sum(again.values()),
        events_stored=len(stored),
        seconds=round(time.monotonic() - started, 1),
    )


def _keys(delivery: Delivery) -> tuple[tuple[int, str], ...]:
    return delivery.keys
