"""`manage.py replay_webhooks` — put events back to pending and process them again."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks.models import WebhookEvent
from webhooks.selectors import webhook_event_list
from webhooks.services import webhook_event_replay


def _since(value: str) -> datetime:
    """ISO date/time, or a relative age like 2h / 3d / 30m."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return timezone.now() - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = parse_datetime(value) or parse_datetime(f"{value}T00:00:00")
    if parsed is None:
        raise CommandError(f"--since {value!r}: use ISO 8601 (2025-01-31T12:00) or 2h/3d/30m.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = (
        "Replay webhook events: back to pending with attempts reset, then queued. Without "
        "--status or --id, failed and dead events are replayed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--slug", help="Only this endpoint.")
        parser.add_argument(
            "--status",
            choices=[WebhookEvent.Status.FAILED, WebhookEvent.Status.DEAD],
            help="Only failed or only dead events.",
        )
        parser.add_argument(
            "--since", help="Received at or after: ISO date/time or an age (2h, 3d, 30m)."
        )
        parser.add_argument(
            "--id",
            dest="ids",
            action="append",
            default=[],
            help="A provider event id (or #<pk>); repeatable. Replays it whatever its status.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count.")

    def handle(self, *args: Any, **options: Any) -> None:
        pks = [int(v[1:]) for v in options["ids"] if v.startswith("#") and v[1:].isdigit()]
        event_ids = [v for v in options["ids"] if not (v.startswith("#") and v[1:].isdigit())]
        events = webhook_event_list(
            slug=options["slug"],
            since=_since(options["since"]) if options["since"] else None,
            ids=pks or None,
            event_ids=event_ids or None,
        )
        if options["status"]:
            events = events.filter(status=options["status"])
        elif not options["ids"]:
            events = events.filter(
                status__in=[WebhookEvent.Status.FAILED, WebhookEvent.Status.DEAD]
            )
        if options["dry_run"]:
            self.stdout.write(f"{events.count()} event(s) would be replayed.")
            return
        count = webhook_event_replay(events=events)
        self.stdout.write(f"{count} event(s) queued for replay.")
