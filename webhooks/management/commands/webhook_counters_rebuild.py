"""`manage.py webhook_counters_rebuild` — recount the staff counters from the event log.

The counters are kept by database triggers (`webhooks.counters`) and need no maintenance;
this is for a database restored from a dump taken without them, or rows changed with the
triggers disabled. One scan of the log, in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from webhooks.counters import counters_rebuild


class Command(BaseCommand):
    help = "Recount per-endpoint status counts and hourly deliveries from the event log."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            counters_rebuild()
        self.stdout.write("Counters rebuilt.")
