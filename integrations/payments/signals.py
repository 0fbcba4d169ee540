"""Signals the payments app sends when a Stripe change is applied to the local models.

Each entry: signal (sender; kwargs besides `sender`) — when it is sent.

- `customer_changed` (`Customer`; `customer`, `created`, `event_type`) — a customer is created
  or a field changes (its user link included).
- `customer_deleted` (`Customer`; `customer`, `event_type`) — a customer becomes deleted.
- `payment_succeeded` (`Payment`; `payment`, `event_type`) — its status becomes `succeeded`.
- `payment_failed` (`Payment`; `payment`, `event_type`) — a new failed attempt is applied.
- `payment_refunded` (`Payment`; `payment`, `event_type`) — `amount_refunded` grows.
- `subscription_changed` (`Subscription`; `subscription`, `previous_status`) — a field changes.
- `subscription_paused` (`Subscription`; `subscription`, `event_type`) — its status becomes
  `paused`.
- `subscription_resumed` (`Subscription`; `subscription`, `event_type`) — its status leaves
  `paused` for `active` or `trialing`.
- `subscription_trial_will_end` (`Subscription`; `subscription`, `trial_end`, `event_type`) —
  `customer.subscription.trial_will_end` for a trial end not signalled before.
- `checkout_session_completed` (`CheckoutSession`; `session`, `event_type`) — its status
  becomes `complete`.
- `checkout_session_paid` (`CheckoutSession`; `session`, `event_type`) — its `payment_status`
  becomes `paid` (at completion, or later for an asynchronous payment method).
- `checkout_session_payment_failed` (`CheckoutSession`; `session`, `event_type`) — a new
  `checkout.session.async_payment_failed` is applied.
- `checkout_session_expired` (`CheckoutSession`; `session`, `event_type`) — its status becomes
  `expired`.
- `invoice_status_changed` (`Invoice`; `invoice`, `previous_status`, `event_type`) — an invoice
  is created or its status changes (draft → open when finalized, → paid, void, uncollectible).
- `invoice_paid` (`Invoice`; `invoice`, `event_type`) — its status becomes `paid`.
- `invoice_payment_failed` (`Invoice`; `invoice`, `event_type`) — a new `invoice.payment_failed`
  attempt is applied.
- `product_changed` (`Product`; `product`, `created`, `event_type`) and `price_changed`
  (`Price`; `price`, `created`, `event_type`) — created, or a field changes (a deletion sets
  `deleted`).
- `dispute_changed` (`Dispute`; `dispute`, `previous_status`, `event_type`) — a dispute is
  opened (`previous_status` None) or its status changes.

- The row kwarg (`customer`, `payment`, …) already holds the new state.
- `payment_failed`, `checkout_session_payment_failed` and `invoice_payment_failed` follow
  Stripe's failure events only (each new one: a customer may fail several times before
  succeeding); the others follow the row, whatever wrote it (a webhook event, a service call,
  `manage.py stripe_sync` — which therefore also sends them for rows it creates or changes).
- `event_type`: the Stripe event type that carried the change (`"payment_intent.succeeded"`,
  `"charge.refunded"`, …), or None when it came from a Stripe API response (a service call,
  `manage.py stripe_sync`).
- `previous_status`: the status before the change; None when the row was just created. For
  `subscription_changed` the status may be unchanged (e.g. `cancel_at_period_end` or the latest
  invoice's outcome changed): compare it with `subscription.status`.
- `created`: True when the row was just created.

Sent only when a change is actually written: a duplicate delivery, a retried processing run or
an event older than the last one applied to the row writes nothing and sends nothing. Sent
inside the transaction that writes the change (with the row locked): a receiver's own writes
commit atomically with it, and a receiver that raises rolls the change back — from a webhook
handler that fails the webhook event, which is then retried. Keep receivers quick and
idempotent, and queue slow work with `transaction.on_commit`.
"""

from __future__ import annotations

from django.dispatch import Signal

customer_changed = Signal()
customer_deleted = Signal()
payment_succeeded = Signal()
payment_failed = Signal()
payment_refunded = Signal()
subscription_changed = Signal()
subscription_paused = Signal()
subscription_resumed = Signal()
subscription_trial_will_end = Signal()
checkout_session_completed = Signal()
checkout_session_paid = Signal()
checkout_session_payment_failed = Signal()
checkout_session_expired = Signal()
invoice_status_changed = Signal()
invoice_paid = Signal()
invoice_payment_failed = Signal()
product_changed = Signal()
price_changed = Signal()
dispute_changed = Signal()

__all__ = [
    "checkout_session_completed",
    "checkout_session_expired",
    "checkout_session_paid",
    "checkout_session_payment_failed",
    "customer_changed",
    "customer_deleted",
    "dispute_changed",
    "invoice_paid",
    "invoice_payment_failed",
    "invoice_status_changed",
    "payment_failed",
    "payment_refunded",
    "payment_succeeded",
    "price_changed",
    "product_changed",
    "subscription_changed",
    "subscription_paused",
    "subscription_resumed",
    "subscription_trial_will_end",
]
