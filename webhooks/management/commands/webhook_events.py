"""`manage.py webhook_events` — list stored webhook events."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from webhooks.models import WebhookEvent
from webhooks.selectors import webhook_event_list


class Command(BaseCommand):
    help = "List stored webhook events, newest first (filters combine)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--slug", help="Only this endpoint.")
        parser.add_argument(
            "--status", choices=WebhookEvent.Status.values, help="Only events in this status."
        )
        parser.add_argument("--type", dest="event_type", help="Only this event type.")
        parser.add_argument("--limit", type=int, default=50, help="At most this many (50).")
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def handle(self, *args: Any, **options: Any) -> None:
        events = webhook_event_list(
            slug=options["slug"], status=options["status"], event_type=options["event_type"]
        )[: options["limit"]]
        for event in events:
            row = {
                "id": event.pk,
                "endpoint": event.endpoint.slug,
                "provider": event.endpoint.provider,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "status": event.status,
                "attempts": event.attempts,
                "received_at": event.received_at.isoformat(),
                "next_attempt_at": event.next_attempt_at.isoformat()
                if event.next_attempt_at
                else None,
                "last_error": event.last_error,
            }
            if options["json"]:
                self.stdout.write(json.dumps(row))
            else:
                self.stdout.write(
                    f"{row['id']}\t{row['received_at']}\t{row['endpoint']}\t{row['event_id']}\t"
                    f"{row['event_type']}\t{row['status']}\tattempts={row['attempts']}"
                )
