"""`manage.py prune_webhook_events --older-than DAYS` — delete old finished events."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from webhooks.services import webhook_events_prune


class Command(BaseCommand):
    help = (
        "Delete processed and ignored events received more than DAYS days ago. Failed and "
        "dead events are kept unless --include-failed; pending/processing ones never go."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument(
            "--include-failed", action="store_true", help="Also delete failed and dead events."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"] < 0:
            raise CommandError("--older-than must be 0 or more days.")
        deleted = webhook_events_prune(
            older_than=timedelta(days=options["older_than"]),
            include_failed=options["include_failed"],
        )
        self.stdout.write(f"Deleted {deleted} event(s).")
