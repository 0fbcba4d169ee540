"""Payment errors: what the caller does next, never the raw Stripe message.

Stripe's exceptions are translated once, in `integrations.payments.gateway`. Each of ours is
an `IntegrationError` (service "stripe", HTTP status, Stripe request id) plus the Stripe
`code`; `str(exc)` is safe to show to an end user, and Stripe's own message is kept in
`.detail` for logs and support only.

Rate limiting is the shared `integrations.core.exceptions.RateLimitExceeded`.
`StripeConfigurationError` subclasses `ImproperlyConfigured` and sits outside `PaymentError`
on purpose: a broad `except PaymentError` must not swallow a missing or revoked key.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from integrations.core.exceptions import IntegrationError, RetryableError


class PaymentError(IntegrationError):
    """Root of payment failures."""

    default_message = "The payment could not be processed."

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        detail: str = "",
        **context: Any,
    ) -> None:
        self.code = code
        # Stripe's own message: for logs and support, not for end users.
        self.detail = detail
        context.setdefault("service", "stripe")
        super().__init__(message or self.default_message, **context)


class PaymentDeclined(PaymentError):
    """The card was declined: ask the customer for another payment method."""

    default_message = "Your card was declined. Please use a different payment method."

    def __init__(self, message: str = "", *, decline_code: str | None = None, **kwargs: Any):
        self.decline_code = decline_code
        super().__init__(message, **kwargs)


class PaymentRequestError(PaymentError):
    """Stripe rejected the request's parameters (a bug or stale data on our side)."""

    default_message = "The payment request was invalid."

    def __init__(self, message: str = "", *, param: str | None = None, **kwargs: Any):
        self.param = param
        super().__init__(message, **kwargs)


class PaymentGatewayError(PaymentError, RetryableError):
    """Stripe failed or could not be reached; safe to retry with the same idempotency key."""

    default_message = "The payment provider is unavailable. Please try again shortly."


class StripeConfigurationError(ImproperlyConfigured):
    """STRIPE_SECRET_KEY is missing, invalid or lacks a permission."""

    setting = "STRIPE_SECRET_KEY"
