"""System checks of `integrations.payments` (settings only; no database, no network).

- `liaison_payments.E001` STRIPE_API_VERSION is set but empty (or not a string).
- `liaison_payments.E002` STRIPE_MAX_NETWORK_RETRIES / STRIPE_*_TIMEOUT is not a number in
  range.
- `liaison_payments.E003` STRIPE_CUSTOMER_USER_MATCH is not "metadata", "email" or "none".
- `liaison_payments.E100` a Liaison app it needs is not installed (Stripe calls go through
  `integrations.outbound`; the payment webhooks send their emails with `integrations.email`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from integrations.core.checks import missing_app_errors, number_setting_errors
from integrations.payments import conf

REQUIRES = ("integrations.core", "integrations.outbound", "integrations.email")


@register()
def check_dependencies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return missing_app_errors(
        app="integrations.payments",
        requires=REQUIRES,
        check_id="liaison_payments.E100",
    )


@register()
def check_stripe_api_version(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "STRIPE_API_VERSION", conf.DEFAULT_STRIPE_API_VERSION)
    if isinstance(value, str) and value.strip():
        return []
    return [
        Error(
            f"STRIPE_API_VERSION must name a Stripe API version; it is {value!r}.",
            hint=f"Remove STRIPE_API_VERSION to use {conf.DEFAULT_STRIPE_API_VERSION!r}, the "
            "version this code is written against; change it only together with the code.",
            id="liaison_payments.E001",
        )
    ]


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (
            ("STRIPE_MAX_NETWORK_RETRIES", int, 0),
            ("STRIPE_CONNECT_TIMEOUT", float, 0.001),
            ("STRIPE_READ_TIMEOUT", float, 0.001),
        ),
        check_id="liaison_payments.E002",
    )


@register()
def check_customer_user_match(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "STRIPE_CUSTOMER_USER_MATCH", conf.DEFAULT_STRIPE_CUSTOMER_USER_MATCH)
    if isinstance(value, str) and value.strip().lower() in conf.CUSTOMER_USER_MATCHES:
        return []
    return [
        Error(
            f"STRIPE_CUSTOMER_USER_MATCH must be one of {', '.join(conf.CUSTOMER_USER_MATCHES)}; "
            f"it is {value!r}.",
            hint="metadata: the user's id in the customer's metadata; email: the user with the "
            "customer's email; none: link customers to users yourself.",
            id="liaison_payments.E003",
        )
    ]
