"""Celery tasks of the email package (thin: an id in, one service call).

Messages sent after a state change go through the outbox (`integrations.outbox`), whose own
tasks perform them; this task only drains send messages queued before the outbox existed.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(bind=True, acks_late=True)
def email_message_send_task(self: Any, message_id: int) -> None:
    """Send a queued message through the outbox (retries, once in effect, dead rows)."""
    from integrations.email.services import email_message_send_queued

    email_message_send_queued(message_id=int(message_id))
