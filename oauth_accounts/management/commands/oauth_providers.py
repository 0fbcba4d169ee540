"""manage.py oauth_providers: enabled providers and the callback URL to register for each."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from oauth_accounts import conf, selectors


class Command(BaseCommand):
    help = "List OAuth providers (enabled ones by default) with their callback URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="also list disabled providers")

    def handle(self, *args: Any, **options: Any) -> None:
        enabled = {info.id for info in selectors.provider_infos(enabled_only=True)}
        infos = selectors.provider_infos(enabled_only=not options["all"])
        if not infos:
            self.stdout.write(
                "No OAuth provider is enabled. Set a provider's client id and secret "
                "(see .env.example: OAUTH_GOOGLE_*, OAUTH_GITHUB_*, OAUTH_OIDC_*)."
            )
            return
        for info in infos:
            state = "enabled" if info.id in enabled else "disabled"
            self.stdout.write(
                f"{info.id}\t{info.title}\t{state}\tcallback: {selectors.callback_url(info.id)}"
            )
        if not conf.public_base_url():
            self.stdout.write(
                "Set OAUTH_PUBLIC_BASE_URL (e.g. https://liaison.example.com) to print absolute "
                "callback URLs."
            )
