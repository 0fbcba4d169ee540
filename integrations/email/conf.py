"""Settings the email package reads, always at call time (so `override_settings` works)."""

from __future__ import annotations

from django.conf import settings


def sendgrid_api_key() -> str:
    return getattr(settings, "SENDGRID_API_KEY", "") or ""


def sendgrid_sandbox_mode() -> bool:
    """SendGrid validates the message but delivers nothing (staging)."""
    return bool(getattr(settings, "SENDGRID_SANDBOX_MODE", False))


def default_from_email() -> str:
    return str(getattr(settings, "DEFAULT_FROM_EMAIL", "") or "webmaster@localhost")


def send_task_max_retries() -> int:
    return int(getattr(settings, "SENDGRID_SEND_MAX_RETRIES", 5))
