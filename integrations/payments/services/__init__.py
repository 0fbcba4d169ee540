"""Stripe operations and what payment events do to the local models, as functions named
`<entity>_<action>` with keyword-only arguments.

Every call goes through `gateway.stripe_call` (breaker + limiter + metrics, errors translated
once). Every create/refund carries an idempotency key — the caller's, or one derived from a
stable business key (order reference, user id, payment + amount) — so a retried call never
charges or refunds twice. Results are written to the local models through
`integrations.payments.sync`, which sends the payment signals.

- customers: `customer_create`, `customer_retrieve`, `customer_update`, `customer_for_user`
- payments: `payment_intent_create`, `payment_intent_retrieve`, `payment_intent_cancel`,
  `refund_create`, `payment_intent_event_apply`, `payment_email_enqueue`, `payment_recipient`
- subscriptions: `subscription_create`, `subscription_cancel`
- reconciliation: `stripe_resource_sync`, `stripe_list_pages`, `stripe_list_iterate`,
  `stripe_sync_cursor_get_or_create`

`PaymentService` (a deprecated shim with the old method names) stays importable from here.
"""

from integrations.payments.services.compat import PaymentService
from integrations.payments.services.customers import (
    customer_create,
    customer_for_user,
    customer_retrieve,
    customer_update,
)
from integrations.payments.services.idempotency import idempotency_key
from integrations.payments.services.payments import (
    payment_email_enqueue,
    payment_intent_cancel,
    payment_intent_create,
    payment_intent_event_apply,
    payment_intent_retrieve,
    payment_recipient,
    refund_create,
)
from integrations.payments.services.reconcile import (
    SYNC_RESOURCES,
    SyncReport,
    stripe_list_iterate,
    stripe_list_pages,
    stripe_resource_sync,
    stripe_sync_cursor_get_or_create,
)
from integrations.payments.services.subscriptions import (
    CONFIRMATION_SECRET_SINCE,
    SubscriptionStart,
    subscription_cancel,
    subscription_create,
)

__all__ = [
    "CONFIRMATION_SECRET_SINCE",
    "SYNC_RESOURCES",
    "PaymentService",
    "SubscriptionStart",
    "SyncReport",
    "customer_create",
    "customer_for_user",
    "customer_retrieve",
    "customer_update",
    "idempotency_key",
    "payment_email_enqueue",
    "payment_intent_cancel",
    "payment_intent_create",
    "payment_intent_event_apply",
    "payment_intent_retrieve",
    "payment_recipient",
    "refund_create",
    "stripe_list_iterate",
    "stripe_list_pages",
    "stripe_resource_sync",
    "stripe_sync_cursor_get_or_create",
    "subscription_cancel",
    "subscription_create",
]
