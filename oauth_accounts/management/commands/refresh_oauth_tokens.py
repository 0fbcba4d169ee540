"""manage.py refresh_oauth_tokens [--within MINUTES]"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from oauth_accounts import services


class Command(BaseCommand):
    help = (
        "Refresh OAuth tokens that expire within --within minutes (default: twice the refresh "
        "margin) and refresh tokens idle for OAUTH_IDLE_REFRESH_DAYS; accounts backing off "
        "after failures are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--within", type=int, default=None, metavar="MINUTES")

    def handle(self, *args: Any, **options: Any) -> None:
        within = options["within"]
        report = services.oauth_tokens_refresh_due(
            within=timedelta(minutes=within) if within is not None else None
        )
        for line in report.errors:
            self.stderr.write(line)
        self.stdout.write(
            f"checked {report.checked}, refreshed {report.refreshed}, failed {report.failed}, "
            f"needs reconnect {report.needs_reconnect}"
        )
