"""Settings the payments package reads, always at call time (so `override_settings` works)."""

from __future__ import annotations

from django.conf import settings

# The API version this code is written against; see README ("Stripe API version").
DEFAULT_STRIPE_API_VERSION = "2026-10-28.endive"


def stripe_secret_key() -> str:
    return getattr(settings, "STRIPE_SECRET_KEY", "") or ""


def stripe_api_version() -> str:
    return getattr(settings, "STRIPE_API_VERSION", "") or DEFAULT_STRIPE_API_VERSION


def stripe_max_network_retries() -> int:
    return int(getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", 2))


def stripe_connect_timeout() -> float:
    return float(getattr(settings, "STRIPE_CONNECT_TIMEOUT", 5.0))


def stripe_read_timeout() -> float:
    return float(getattr(settings, "STRIPE_READ_TIMEOUT", 30.0))


def stripe_api_base() -> str:
    """Overridable only so a local fake can stand in for api.stripe.com."""
    return getattr(settings, "STRIPE_API_BASE", "") or "https://api.stripe.com"


def payment_emails_enabled() -> bool:
    """Send the customer a confirmation / failure email from the payment webhooks."""
    return bool(getattr(settings, "PAYMENTS_SEND_EMAILS", True))
