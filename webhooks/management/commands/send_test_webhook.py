"""`manage.py send_test_webhook SLUG [EVENT_TYPE]` — like `stripe trigger`, for any provider.

The body is the provider's sample for the type, `webhooks/samples/<provider>/<type>.json`,
with fresh ids and times; a type without a sample fails naming those that have one (Stripe), or
gets the provider's nearest sample (types the others name freely, e.g. GitHub events).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from webhooks.exceptions import TestDeliveryUnreachable, WebhookConfigurationError, WebhookError
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_send_test
from webhooks.services.endpoints import DEFAULT_TEST_BASE_URL


class Command(BaseCommand):
    help = (
        "Post a realistic sample event to an endpoint, signed exactly as the provider would "
        "with the endpoint's newest active secret, and print the response."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug", help="The endpoint's slug.")
        parser.add_argument(
            "event_type",
            nargs="?",
            default=None,
            help="Event type (default: the provider's typical event, e.g. "
            "payment_intent.succeeded for Stripe; the types with samples are the files in "
            "webhooks/samples/<provider>/).",
        )
        parser.add_argument(
            "--url",
            default=None,
            help=f"Base URL of the server (default WEBHOOKS_PUBLIC_BASE_URL or "
            f"{DEFAULT_TEST_BASE_URL}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = WebhookEndpoint.objects.filter(slug=options["slug"]).first()
        if endpoint is None:
            raise CommandError(f"No endpoint with slug {options['slug']!r}.")
        try:
            result = webhook_endpoint_send_test(
                endpoint=endpoint, event_type=options["event_type"], base_url=options["url"]
            )
        except TestDeliveryUnreachable as exc:
            raise CommandError(f"Could not reach the server: {exc}") from exc
        except (WebhookError, WebhookConfigurationError) as exc:
            raise CommandError(f"Cannot sign a test delivery: {exc}") from exc
        self.stdout.write(f"POST {result.url}")
        self.stdout.write(f"event id: {result.event_id}")
        self.stdout.write(f"status: {result.status_code}")
        self.stdout.write(result.body)
        if not 200 <= result.status_code < 300:
            raise CommandError(f"The endpoint answered {result.status_code}.")
