"""Re-encrypt every encrypted column under the first key of FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.core.services import encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field of every model under the first key of "
        "FIELD_ENCRYPTION_KEYS. Put the new key first, run this, then remove the old keys. "
        "Works in batches, each in its own transaction; safe to stop and run again "
        "(values already under the first key are skipped)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="rows locked and re-encrypted per transaction (default 500)",
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        report = encryption_keys_rotate(batch_size=batch_size, progress=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {report.values_checked} value(s) in {report.columns} column(s): "
                f"{report.values_rotated} re-encrypted, "
                f"{report.values_checked - report.values_rotated - len(report.failures)} "
                "already under the first key."
            )
        )
        if report.failures:
            listed = ", ".join(report.failures[:20])
            more = "" if len(report.failures) <= 20 else f" and {len(report.failures) - 20} more"
            raise CommandError(
                f"{len(report.failures)} value(s) could not be decrypted with any key in "
                f"FIELD_ENCRYPTION_KEYS and were left as they are: {listed}{more}"
            )
