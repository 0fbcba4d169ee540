"""Settings the email package reads, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides. `DEFAULT_FROM_EMAIL` is Django's own setting (and Django's default).
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_SENDGRID_SANDBOX_MODE = False
# SendGrid posts its events in batches within about a minute; five minutes leaves room for a
# slow batch and for our own event backlog.
DEFAULT_SENDGRID_PROCESSED_WAIT_SECONDS = 300
# Django's own default for DEFAULT_FROM_EMAIL, used when a host sets it empty.
DJANGO_DEFAULT_FROM_EMAIL = "webmaster@localhost"

# Every setting this app reads, with its default (the README's table is checked against it).
DEFAULTS: dict[str, object] = {
    # No key: messages are recorded and printed to the console; nothing leaves the machine.
    "SENDGRID_API_KEY": "",
    "SENDGRID_SANDBOX_MODE": DEFAULT_SENDGRID_SANDBOX_MODE,
    "SENDGRID_PROCESSED_WAIT_SECONDS": DEFAULT_SENDGRID_PROCESSED_WAIT_SECONDS,
}


def sendgrid_api_key() -> str:
    return str(getattr(settings, "SENDGRID_API_KEY", "") or "")


def sendgrid_sandbox_mode() -> bool:
    """SendGrid validates the message but delivers nothing (staging)."""
    return bool(getattr(settings, "SENDGRID_SANDBOX_MODE", DEFAULT_SENDGRID_SANDBOX_MODE))


def default_from_email() -> str:
    return str(getattr(settings, "DEFAULT_FROM_EMAIL", "") or DJANGO_DEFAULT_FROM_EMAIL)


def processed_wait_seconds() -> int:
    """How long a send with no recorded outcome waits for SendGrid's `processed` event before
    the outbox sends it again (a duplicate if SendGrid had it and its event is later still)."""
    value = getattr(
        settings, "SENDGRID_PROCESSED_WAIT_SECONDS", DEFAULT_SENDGRID_PROCESSED_WAIT_SECONDS
    )
    return int(value)
