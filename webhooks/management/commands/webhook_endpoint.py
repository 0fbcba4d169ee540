"""`manage.py webhook_endpoint create|list|rotate-secret` — manage webhook endpoints."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from webhooks import conf
from webhooks.exceptions import UnknownProvider, WebhookConfigurationError
from webhooks.models import WebhookEndpoint
from webhooks.providers import PROVIDERS
from webhooks.selectors import webhook_endpoint_list, webhook_endpoint_url
from webhooks.services import webhook_endpoint_create, webhook_secret_add

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Model field -> the option that sets it here, so a refusal names what the caller typed.
_FIELD_OPTIONS = {
    "options": "--options",
    "public_key": "--public-key",
    "secret": "--secret",  # nosec B105 - a flag name, not a secret
    "tolerance_seconds": "--tolerance",
    "max_body_bytes": "--max-body-bytes",
    "duplicate_body_window_hours": "--duplicate-body-window-hours",
    "slug": "--slug",
    "provider": "--provider",
}


def _refusal(exc: ValidationError) -> CommandError:
    """`--field: message` for each refused setting (the model's `clean()` names the field)."""
    if not hasattr(exc, "error_dict"):
        return CommandError(" ".join(exc.messages))
    lines = [
        f"{_FIELD_OPTIONS.get(field, field)}: {message}"
        for field, errors in exc.message_dict.items()
        for message in errors
    ]
    return CommandError("; ".join(lines))


class Command(BaseCommand):
    help = (
        "Create, list and rotate the secrets of webhook endpoints (POST /webhooks/<slug>/). "
        "Secrets are stored encrypted and only ever printed when we generate them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = sub.add_parser(
            "create",
            help="Create an endpoint and print its URL.",
            description=(
                "Create an endpoint. Without --secret, a secret is generated for schemes where "
                "we choose it (printed once); for providers that issue the secret (e.g. "
                "Stripe) paste the one their dashboard shows, or add it later with "
                "rotate-secret."
            ),
        )
        create.add_argument(
            "--provider", required=True, choices=sorted(PROVIDERS), help="Provider id."
        )
        create.add_argument("--slug", required=True, help="URL slug: /webhooks/<slug>/.")
        create.add_argument("--secret", default="", help="The signing secret.")
        create.add_argument(
            "--public-key", default="", help="Provider public key, PEM or base64 (SendGrid)."
        )
        create.add_argument("--description", default="")
        create.add_argument(
            "--options", default="", help='Provider options as JSON, e.g. \'{"header": "X-Sig"}\'.'
        )
        create.add_argument("--tolerance", type=int, default=None, help="Seconds (default 300).")
        create.add_argument(
            "--max-body-bytes", type=int, default=None, help="Bytes (default 1 MiB)."
        )
        create.add_argument(
            "--duplicate-body-window-hours",
            type=int,
            default=None,
            help=(
                "Store an identical body received within N hours once (0 = off; default 24 for "
                "GitHub, Shopify and Twilio, whose signatures cover no timestamp or id, else 0)."
            ),
        )
        create.add_argument("--base-url", default="", help="Base URL to print the full URL with.")

        sub.add_parser("list", help="List endpoints with their URL and secret state.")

        rotate = sub.add_parser(
            "rotate-secret",
            help="Add a new secret; the old ones stay active unless --retire-old.",
            description=(
                "Add a new secret to an endpoint. Old secrets stay active so deliveries signed "
                "with either verify during the switch-over; retire them with --retire-old once "
                "the provider signs with the new one."
            ),
        )
        rotate.add_argument("slug")
        rotate.add_argument(
            "--secret", default="", help="The new secret (generated when we choose it)."
        )
        rotate.add_argument(
            "--retire-old", action="store_true", help="Deactivate every other secret."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list()
        else:
            self._rotate(options)

    def _base(self, options: dict[str, Any]) -> str:
        return options.get("base_url") or conf.public_base_url() or DEFAULT_BASE_URL

    def _create(self, options: dict[str, Any]) -> None:
        try:
            extra = json.loads(options["options"]) if options["options"] else {}
        except ValueError as exc:
            raise CommandError(f"--options is not valid JSON: {exc}") from exc
        try:
            created = webhook_endpoint_create(
                provider=options["provider"],
                slug=options["slug"],
                secret=options["secret"] or None,
                public_key=options["public_key"],
                description=options["description"],
                options=extra,
                tolerance_seconds=options["tolerance"],
                max_body_bytes=options["max_body_bytes"],
                duplicate_body_window_hours=options["duplicate_body_window_hours"],
            )
        except ValidationError as exc:
            raise _refusal(exc) from exc
        except UnknownProvider as exc:
            raise CommandError(f"--provider: unknown provider {exc}.") from exc
        endpoint = created.endpoint
        url = webhook_endpoint_url(endpoint=endpoint, base_url=self._base(options))
        self.stdout.write(f"Created {endpoint.provider} endpoint {endpoint.slug}")
        self.stdout.write(f"URL: {url}")
        if created.generated_secret:
            self.stdout.write(
                f"Secret (shown once, store it in the provider): {created.generated_secret}"
            )
        elif not endpoint.secrets.exists() and not endpoint.public_key:
            self.stdout.write(
                "No secret yet: add the one the provider shows with "
                f"`manage.py webhook_endpoint rotate-secret {endpoint.slug} --secret …`."
            )

    def _list(self) -> None:
        base = conf.public_base_url() or DEFAULT_BASE_URL
        rows = list(webhook_endpoint_list())
        if not rows:
            self.stdout.write("No endpoints.")
            return
        for endpoint in rows:
            active = endpoint.secrets.filter(active=True).count()
            state = f"set ({active} active)" if active else "not set"
            flag = "" if endpoint.active else " [inactive]"
            self.stdout.write(
                f"{endpoint.slug}\t{endpoint.provider}\tsecrets: {state}\t"
                f"{webhook_endpoint_url(endpoint=endpoint, base_url=base)}{flag}"
            )

    def _rotate(self, options: dict[str, Any]) -> None:
        endpoint = WebhookEndpoint.objects.filter(slug=options["slug"]).first()
        if endpoint is None:
            raise CommandError(f"No endpoint with slug {options['slug']!r}.")
        try:
            rotated = webhook_secret_add(
                endpoint=endpoint,
                value=options["secret"] or None,
                retire_others=options["retire_old"],
            )
        except ValidationError as exc:
            raise _refusal(exc) from exc
        except WebhookConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Added a secret to {endpoint.slug}; retired {rotated.retired}.")
        if rotated.generated_secret:
            self.stdout.write(f"New secret (shown once): {rotated.generated_secret}")
