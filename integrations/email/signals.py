"""Signals the email app sends.

`email_status_changed(sender=EmailMessage, message, status, previous_status, event)`: a
SendGrid event moved a message's status.

- `message`: the `EmailMessage`, already holding the new status and the event in its timeline;
- `status` / `previous_status`: `EmailMessage.Status` values (e.g. "sent" → "delivered");
- `event`: the event's normalized name — "processed", "deferred", "delivered", "bounced",
  "dropped", "opened", "clicked", "spam_report", "unsubscribed" or "resubscribed" (SendGrid's
  `open`, `click`, `bounce`, `spamreport`, `unsubscribe` / `group_unsubscribe`,
  `group_resubscribe`, …).

`email_event_received(sender=EmailMessage, message, event, status, url)`: every new tracking
event SendGrid reports for a message, whether or not it moves the status (a second click, an
open after a click, a `deferred` after delivery) — anymail's "tracking" signal. `event` is the
normalized name above, `status` the message's status after the event, `url` the clicked link
for `clicked` (else None; it is not stored in the timeline). Not sent for duplicates
(same `sg_event_id`), unmatched messages, or event names Liaison does not know; sent before
`email_status_changed` in the same transaction.

`email_status_changed` is sent once per status change: a duplicate event (same
`sg_event_id`), an event for a message Liaison did not send, and an event that does not move
the status forward (a late `processed` after `delivered`, a second `open`) only update the
timeline, or nothing, and send `email_status_changed` nothing.
Sent inside the transaction that saves the message (row locked): a receiver's writes commit
with it, and a receiver that raises rolls the change back and fails the webhook event, which
is then retried.
"""

from __future__ import annotations

from django.dispatch import Signal

email_status_changed = Signal()
email_event_received = Signal()

__all__ = ["email_event_received", "email_status_changed"]
