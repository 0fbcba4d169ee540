"""`manage.py prune_webhook_events [--older-than DAYS] [--include-failed] [--dry-run]`.

Applies retention (`WEBHOOKS_RETENTION_DAYS`, per endpoint `retention_days`) in bounded
batches, as beat does; `--older-than` replaces every endpoint's retention for this run.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from webhooks.services import webhook_events_prune_batched


class Command(BaseCommand):
    help = (
        "Delete processed and ignored events past their endpoint's retention "
        "(WEBHOOKS_RETENTION_DAYS unless --older-than), in short batches. Failed and dead "
        "events are kept unless --include-failed (or WEBHOOKS_RETENTION_INCLUDE_FAILED); "
        "pending/processing ones never go. --dry-run lists what would go."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=int, metavar="DAYS")
        parser.add_argument(
            "--include-failed",
            action="store_true",
            default=None,
            help="Also delete failed and dead events.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count per endpoint and status, delete nothing."
        )
        parser.add_argument(
            "--max-seconds", type=float, metavar="S", help="Stop after S seconds (resume later)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days is not None and days < 0:
            raise CommandError("--older-than must be 0 or more days.")
        report = webhook_events_prune_batched(
            older_than=timedelta(days=days) if days is not None else None,
            include_failed=options["include_failed"],
            dry_run=options["dry_run"],
            max_seconds=options["max_seconds"],
        )
        if options["dry_run"]:
            total = sum(group.count for group in report.groups)
            for group in report.groups:
                samples = ", ".join(group.sample_ids)
                self.stdout.write(
                    f"{group.endpoint} {group.status}: {group.count} (e.g. {samples})"
                )
            self.stdout.write(f"Would delete {total} event(s).")
            return
        suffix = "" if report.complete else " (stopped at --max-seconds; run again)"
        self.stdout.write(
            f"Deleted {report.deleted} event(s) in {report.batches} batch(es).{suffix}"
        )
