"""Settings the payments package reads, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides.
"""

from __future__ import annotations

from django.conf import settings

# The API version this code is written against; see README ("Stripe API version").
DEFAULT_STRIPE_API_VERSION = "2026-10-28.endive"
DEFAULT_STRIPE_MAX_NETWORK_RETRIES = 2
DEFAULT_STRIPE_CONNECT_TIMEOUT = 5.0
DEFAULT_STRIPE_READ_TIMEOUT = 30.0
DEFAULT_STRIPE_API_BASE = "https://api.stripe.com"
DEFAULT_PAYMENTS_SEND_EMAILS = True
# How a synced Stripe Customer finds the host's user: "metadata" (the user's primary key in
# `metadata[STRIPE_CUSTOMER_USER_METADATA_KEY]`, written by `customer_create`), "email" (the
# one user whose email matches, case-insensitively) or "none".
DEFAULT_STRIPE_CUSTOMER_USER_MATCH = "metadata"
DEFAULT_STRIPE_CUSTOMER_USER_METADATA_KEY = "liaison_user_id"
CUSTOMER_USER_MATCHES = ("metadata", "email", "none")

# Every setting this app reads, with its default (the README's table is checked against it).
DEFAULTS: dict[str, object] = {
    # No key: every Stripe call fails with "STRIPE_SECRET_KEY not set" (nothing is attempted).
    "STRIPE_SECRET_KEY": "",  # nosec B105 - unset by default, not a secret
    "STRIPE_API_VERSION": DEFAULT_STRIPE_API_VERSION,
    "STRIPE_MAX_NETWORK_RETRIES": DEFAULT_STRIPE_MAX_NETWORK_RETRIES,
    "STRIPE_CONNECT_TIMEOUT": DEFAULT_STRIPE_CONNECT_TIMEOUT,
    "STRIPE_READ_TIMEOUT": DEFAULT_STRIPE_READ_TIMEOUT,
    "STRIPE_API_BASE": DEFAULT_STRIPE_API_BASE,
    "PAYMENTS_SEND_EMAILS": DEFAULT_PAYMENTS_SEND_EMAILS,
    "STRIPE_CUSTOMER_USER_MATCH": DEFAULT_STRIPE_CUSTOMER_USER_MATCH,
    "STRIPE_CUSTOMER_USER_METADATA_KEY": DEFAULT_STRIPE_CUSTOMER_USER_METADATA_KEY,
}


def stripe_secret_key() -> str:
    return str(getattr(settings, "STRIPE_SECRET_KEY", "") or "")


def stripe_api_version() -> str:
    value = getattr(settings, "STRIPE_API_VERSION", DEFAULT_STRIPE_API_VERSION)
    return str(value or DEFAULT_STRIPE_API_VERSION)


def stripe_max_network_retries() -> int:
    """Retries made by the Stripe SDK itself (with the call's idempotency key)."""
    return int(getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", DEFAULT_STRIPE_MAX_NETWORK_RETRIES))


def stripe_connect_timeout() -> float:
    return float(getattr(settings, "STRIPE_CONNECT_TIMEOUT", DEFAULT_STRIPE_CONNECT_TIMEOUT))


def stripe_read_timeout() -> float:
    return float(getattr(settings, "STRIPE_READ_TIMEOUT", DEFAULT_STRIPE_READ_TIMEOUT))


def stripe_api_base() -> str:
    """Overridable only so a local fake can stand in for api.stripe.com."""
    return str(getattr(settings, "STRIPE_API_BASE", "") or DEFAULT_STRIPE_API_BASE)


def payment_emails_enabled() -> bool:
    """Send the customer a confirmation / failure email from the payment webhooks."""
    return bool(getattr(settings, "PAYMENTS_SEND_EMAILS", DEFAULT_PAYMENTS_SEND_EMAILS))


def stripe_customer_user_match() -> str:
    """ "metadata", "email" or "none" (validated by system check `liaison_payments.E003`)."""
    value = getattr(settings, "STRIPE_CUSTOMER_USER_MATCH", DEFAULT_STRIPE_CUSTOMER_USER_MATCH)
    return str(value or DEFAULT_STRIPE_CUSTOMER_USER_MATCH).strip().lower()


def stripe_customer_user_metadata_key() -> str:
    value = getattr(
        settings, "STRIPE_CUSTOMER_USER_METADATA_KEY", DEFAULT_STRIPE_CUSTOMER_USER_METADATA_KEY
    )
    return str(value or DEFAULT_STRIPE_CUSTOMER_USER_METADATA_KEY)
