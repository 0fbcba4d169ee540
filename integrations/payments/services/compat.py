"""`PaymentService`, the class earlier releases documented, as a thin shim over the module
functions (deprecated: call `integrations.payments.services.<entity>_<action>` instead).
It keeps the old positional signatures and holds no state."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from integrations.payments.services import customers, payments, reconcile, subscriptions


class PaymentService:
    def __init__(self) -> None:
        warnings.warn(
            "PaymentService is deprecated; call the functions of "
            "integrations.payments.services (customer_create, refund_create, …).",
            DeprecationWarning,
            stacklevel=2,
        )

    customer_create = staticmethod(customers.customer_create)
    payment_intent_create = staticmethod(payments.payment_intent_create)
    refund_create = staticmethod(payments.refund_create)
    subscription_create = staticmethod(subscriptions.subscription_create)

    def customer_retrieve(self, customer_id: str) -> Any:
        return customers.customer_retrieve(customer_id=customer_id)

    def customer_update(self, customer_id: str, **params: Any) -> Any:
        return customers.customer_update(customer_id=customer_id, params=params)

    def customer_for_user(self, user: Any) -> Any:
        return customers.customer_for_user(user=user)

    def payment_intent_retrieve(self, intent_id: str) -> Any:
        return payments.payment_intent_retrieve(intent_id=intent_id)

    def payment_intent_cancel(self, intent_id: str, *, reason: str | None = None) -> Any:
        return payments.payment_intent_cancel(intent_id=intent_id, reason=reason)

    def subscription_cancel(self, subscription: Any, *, at_period_end: bool = False) -> Any:
        return subscriptions.subscription_cancel(
            subscription=subscription, at_period_end=at_period_end
        )

    def list_pages(self, resource: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        return reconcile.stripe_list_pages(service=resource, **kwargs)

    def iter_all(self, resource: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return reconcile.stripe_list_iterate(service=resource, **kwargs)
