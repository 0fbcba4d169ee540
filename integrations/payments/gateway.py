"""The one boundary between Liaison and the Stripe SDK.

- `stripe_client()` builds a `stripe.StripeClient` from settings read at call time: API key,
  pinned API version, SDK network retries (`StripeClient` makes none unless told), connect and
  read timeouts. No global `stripe.api_key` is ever set.
- `stripe_call()` runs one SDK call inside the shared breaker + limiter + metrics
  (`integrations.outbound.resilience.guarded_call`) and translates Stripe's exceptions into
  ours, once.
  The SDK keeps its own retries (with the idempotency key of the call); only connection
  failures and 5xx count against the breaker — a declined card is not an outage.

Stripe API reference: https://docs.stripe.com/api (errors: https://docs.stripe.com/api/errors,
rate limits: https://docs.stripe.com/rate-limits, idempotency:
https://docs.stripe.com/api/idempotent_requests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import stripe

from integrations.core.exceptions import RateLimitExceeded
from integrations.outbound.resilience import guarded_call
from integrations.payments import conf
from integrations.payments.exceptions import (
    PaymentDeclined,
    PaymentError,
    PaymentGatewayError,
    PaymentRequestError,
    StripeConfigurationError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
SERVICE = "stripe"

# Decline codes (https://docs.stripe.com/declines/codes) with a message we may show a customer.
# Anything else gets the generic message: some codes (fraudulent, stolen_card) must not be
# revealed to the person holding the card.
_SAFE_DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "incorrect_number": "Your card number is incorrect.",
    "invalid_expiry_month": "Your card's expiration month is invalid.",
    "invalid_expiry_year": "Your card's expiration year is invalid.",
    "processing_error": "An error occurred while processing your card. Please try again.",
    "authentication_required": "Your bank requires you to authenticate this payment.",
    "card_velocity_exceeded": "Your card has exceeded its limit. Please use another card.",
}

_clients: dict[tuple[object, ...], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def stripe_client() -> stripe.StripeClient:
    """A configured `StripeClient`; `StripeConfigurationError` when no key is set."""
    api_key = conf.stripe_secret_key()
    if not api_key:
        raise StripeConfigurationError(
            "STRIPE_SECRET_KEY not set: Stripe calls are disabled. Set STRIPE_SECRET_KEY to a "
            "secret or restricted key from https://dashboard.stripe.com/apikeys (see .env.example)."
        )
    options = (
        api_key,
        conf.stripe_api_version(),
        conf.stripe_max_network_retries(),
        conf.stripe_connect_timeout(),
        conf.stripe_read_timeout(),
        conf.stripe_api_base(),
    )
    client = _clients.get(options)
    if client is None:
        with _clients_lock:
            client = _clients.get(options)
            if client is None:
                client = stripe.StripeClient(
                    api_key,
                    stripe_version=options[1],
                    max_network_retries=options[2],
                    http_client=stripe.RequestsClient(timeout=(options[3], options[4])),
                    base_addresses={"api": options[5]},
                )
                _clients[options] = client
    return client


def is_breaker_failure(exc: BaseException) -> bool:
    """Only an unreachable or failing Stripe counts against the breaker."""
    if isinstance(exc, stripe.APIConnectionError):
        return True
    if isinstance(exc, stripe.APIError):
        return exc.http_status is None or exc.http_status >= 500
    return False


def stripe_call(operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args, **kwargs)` (an SDK method) guarded, with Stripe errors translated."""
    try:
        return guarded_call(
            SERVICE, fn, *args, is_failure=is_breaker_failure, operation=operation, **kwargs
        )
    except stripe.StripeError as exc:
        mapped = translate_stripe_error(exc)
        logger.warning(
            "stripe_call_failed",
            extra={
                "operation": operation,
                "error": type(exc).__name__,
                "status": exc.http_status,
                "code": exc.code,
                "request_id": exc.request_id,
                "stripe_message": exc.user_message,
            },
        )
        raise mapped from exc


def translate_stripe_error(exc: stripe.StripeError) -> Exception:
    """Our exception for a Stripe SDK exception (the one place this mapping lives)."""
    context: dict[str, Any] = {
        "code": exc.code,
        "status": exc.http_status,
        "request_id": exc.request_id,
        "detail": exc.user_message or "",
    }
    if isinstance(exc, stripe.CardError):
        decline_code = _error_field(exc, "decline_code")
        message = _SAFE_DECLINE_MESSAGES.get(decline_code or exc.code or "", "")
        return PaymentDeclined(message, decline_code=decline_code, **context)
    if isinstance(exc, stripe.RateLimitError):
        return RateLimitExceeded(
            "Stripe rate limit reached; retry later.",
            service=SERVICE,
            status=exc.http_status,
            request_id=exc.request_id,
        )
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        kind = (
            "was rejected (invalid or revoked key)"
            if isinstance(exc, stripe.AuthenticationError)
            else "lacks the permission this call needs (restricted key)"
        )
        return StripeConfigurationError(
            f"STRIPE_SECRET_KEY {kind}: Stripe answered {exc.http_status} "
            f"(request id {exc.request_id or 'unknown'})."
        )
    if isinstance(exc, stripe.InvalidRequestError):
        return PaymentRequestError(param=exc.param, **context)
    if isinstance(exc, stripe.IdempotencyError):
        return PaymentRequestError(
            "The same idempotency key was reused with different parameters.", **context
        )
    return PaymentGatewayError(**context)


def _error_field(exc: stripe.StripeError, name: str) -> str | None:
    body = exc.json_body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        value = body["error"].get(name)
        return str(value) if value else None
    return None


__all__ = [
    "PaymentError",
    "is_breaker_failure",
    "stripe_call",
    "stripe_client",
    "translate_stripe_error",
]
