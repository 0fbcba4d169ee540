"""Send a test email through the configured path (SendGrid, sandbox, or console)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.core.exceptions import IntegrationError
from integrations.email.services import email_message_send


class Command(BaseCommand):
    help = "Send a test email to TO (optionally with a SendGrid dynamic template)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("to")
        parser.add_argument("--template", default="", help="SendGrid dynamic template id (d-…)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["template"]:
                message = email_message_send(
                    to=options["to"],
                    template_id=options["template"],
                    data={"test": True, "source": "manage.py send_test_email"},
                    stream=self.stdout,
                )
            else:
                message = email_message_send(
                    stream=self.stdout,
                    to=options["to"],
                    subject="Liaison test email",
                    text="This is a test email from Liaison (manage.py send_test_email).",
                    html="<p>This is a test email from <strong>Liaison</strong>.</p>",
                )
        except IntegrationError as exc:
            raise CommandError(f"Send failed: {exc}") from exc
        line = f"EmailMessage #{message.pk}: {message.status} via {message.get_transport_display()}"
        if message.sg_message_id:
            line += f", SendGrid message id {message.sg_message_id}"
        self.stdout.write(self.style.SUCCESS(line))
