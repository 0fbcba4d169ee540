"""Signals the payments app sends when a Stripe change is applied to the local models.

| signal | sender | kwargs | sent when |
| --- | --- | --- | --- |
| `payment_succeeded` | `Payment` | `payment`, `event_type` | its status becomes `succeeded` |
| `payment_failed` | `Payment` | `payment`, `event_type` | a new failed attempt is applied |
| `payment_refunded` | `Payment` | `payment`, `event_type` | `amount_refunded` grows |
| `subscription_changed` | `Subscription` | `subscription`, `previous_status` | a field changes |

- `payment` / `subscription`: the row, already holding the new state.
- `payment_failed` follows Stripe's `payment_intent.payment_failed` events only (each new one:
  a customer may fail several times before succeeding); the others follow the row, whatever
  wrote it (a webhook event, a `PaymentService` call, `manage.py stripe_sync` — which
  therefore also sends them for rows it creates or changes).
- `event_type`: the Stripe event type that carried the change (`"payment_intent.succeeded"`,
  `"charge.refunded"`, …), or None when it came from a Stripe API response (a `PaymentService`
  call, `manage.py stripe_sync`).
- `previous_status`: the subscription's status before the change; None when the row was just
  created. The status may be unchanged (e.g. `cancel_at_period_end` or the latest invoice's
  outcome changed): compare it with `subscription.status`.

Sent only when a change is actually written: a duplicate delivery, a retried processing run or
an event older than the last one applied to the row writes nothing and sends nothing. Sent
inside the transaction that writes the change (with the row locked): a receiver's own writes
commit atomically with it, and a receiver that raises rolls the change back — from a webhook
handler that fails the webhook event, which is then retried. Keep receivers quick and
idempotent, and queue slow work with `transaction.on_commit`.
"""

from __future__ import annotations

from django.dispatch import Signal

payment_succeeded = Signal()
payment_failed = Signal()
payment_refunded = Signal()
subscription_changed = Signal()

__all__ = ["payment_failed", "payment_refunded", "payment_succeeded", "subscription_changed"]
