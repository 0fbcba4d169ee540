"""Make sure a local superuser exists (used by `make run`)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create a superuser with a random password, printed once, if none with that username "
        "exists. An existing user is left as it is (reset its password with "
        "`manage.py changepassword USERNAME`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="default: admin")
        parser.add_argument("--email", default="admin@localhost", help="default: admin@localhost")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/admin/",
            help="admin URL to print with the credentials (default: http://127.0.0.1:8000/admin/)",
        )

    def handle(self, *args: Any, username: str, email: str, url: str, **options: Any) -> None:
        user_model = get_user_model()
        if user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
            self.stdout.write(
                f"Admin user '{username}' exists; its password was printed when it was created "
                f"(reset it with `python manage.py changepassword {username}`)."
            )
            return
        password = secrets.token_urlsafe(12)
        user_model._default_manager.create_superuser(
            username=username, email=email, password=password
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created admin user. Log in at {url} with\n"
                f"  username: {username}\n  password: {password}\n"
                "This password is shown only once."
            )
        )
