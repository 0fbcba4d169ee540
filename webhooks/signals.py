"""Signals the `webhooks` app sends, for a host project to receive.

Every signal is sent with `sender=WebhookEvent` (the class) and keyword arguments:

| signal | kwargs | sent when |
| --- | --- | --- |
| `webhook_event_processed` | `event` | every handler of the event returned |
| `webhook_event_failed` | `event`, `error` | a run failed and a retry is scheduled |
| `webhook_event_dead` | `event`, `error` | a run failed (or its worker died), no attempt left |

`event` is the `WebhookEvent` row as it was processed; `error` is the short description
stored in `last_error` ("ExceptionClass: message", no traceback).

All three are sent inside the database transaction that records the new status, so a
receiver's own writes commit atomically with it:

- `webhook_event_processed` is sent in the same transaction as the handlers' writes. A receiver
  that raises rolls all of it back and fails the event, which is then retried like a failed
  handler — so receivers, like handlers, must be idempotent.
- `webhook_event_failed` / `webhook_event_dead` are sent after the failure is recorded, in its
  transaction (not in the handlers' rolled-back one). A receiver that raises has its own writes
  rolled back and is logged (`webhook_event_signal_receiver_failed`); the failure stays
  recorded, so a broken receiver can never leave an event stuck in `processing`.

Liaison's receivers of Django's model signals (endpoint cache invalidation) are in
`webhooks.receivers`.
"""

from __future__ import annotations

from django.dispatch import Signal

webhook_event_processed = Signal()
webhook_event_failed = Signal()
webhook_event_dead = Signal()

__all__ = ["webhook_event_dead", "webhook_event_failed", "webhook_event_processed"]
