"""`manage.py webhook_counters_rebuild` — recount the staff counters from the event log.

The counters are kept by database triggers (`webhooks.counters`) and need no maintenance;
this is for a database restored from a dump taken without them, or rows changed with the
triggers disabled. One scan of the log, in one transaction (REPEATABLE READ on PostgreSQL,
so the arrivals it replaces are exactly the events it counted).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webhooks.counters import counters_rebuild


class Command(BaseCommand):
    help = (
        "Recount per-endpoint status counts, deliveries (total and hourly) and the event types "
        "seen from the event log."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counters_rebuild()  # its own transaction
        self.stdout.write("Counters rebuilt.")
