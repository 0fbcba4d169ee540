"""`manage.py outbox_relay` — one sweep of the outbox relay, for cron or by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from integrations.outbox.relay import outbox_relay_sweep


class Command(BaseCommand):
    help = "Perform due outbox rows and rows whose lease expired (what beat runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seconds", type=float, default=None, help="time budget")

    def handle(self, *args: Any, **options: Any) -> None:
        report = outbox_relay_sweep(time_budget=options["seconds"])
        for name, value in report.__dict__.items():
            self.stdout.write(f"{name}: {value}")
