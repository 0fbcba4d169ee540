"""Backfill / reconcile local Stripe models from Stripe's list API (paginated, resumable)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.core.exceptions import IntegrationError
from integrations.payments.services import SYNC_RESOURCES, stripe_resource_sync


class Command(BaseCommand):
    help = (
        "Copy Stripe objects (products, prices, customers, subscriptions, invoices, payments, "
        "checkout_sessions, disputes) from Stripe's list API into the local models."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "resources",
            nargs="*",
            choices=[*SYNC_RESOURCES, []],
            help="default: all, in dependency order",
        )
        parser.add_argument("--restart", action="store_true", help="ignore the saved cursor")
        parser.add_argument("--page-size", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        resources = options["resources"] or list(SYNC_RESOURCES)
        for resource in resources:
            try:
                report = stripe_resource_sync(
                    resource=resource,
                    restart=options["restart"],
                    page_size=options["page_size"],
                    progress=lambda line: self.stdout.write(line),
                )
            except IntegrationError as exc:
                raise CommandError(
                    f"{resource}: stopped ({exc}); run again to resume from the saved cursor."
                ) from exc
            origin = f" (resumed after {report.resumed_after})" if report.resumed_after else ""
            self.stdout.write(
                self.style.SUCCESS(
                    f"{resource}: {report.objects} object(s) in {report.pages} page(s){origin}."
                )
            )
