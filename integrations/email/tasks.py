"""Celery tasks of the email package (thin: an id in, one service call)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from integrations.core.exceptions import IntegrationError
from integrations.email import conf

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True)
def email_message_send_task(self: Any, message_id: int) -> None:
    """Send a queued message; retry transport failures that may pass, with backoff."""
    from integrations.email.services import email_message_send

    final = bool(self.request.is_eager) or self.request.retries >= conf.send_task_max_retries()
    try:
        email_message_send(message_id=message_id, keep_queued_on_retryable=not final)
    except IntegrationError as exc:
        if exc.retryable and not final:
            raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
        # Recorded on the message (status failed, last error); staff can resend from the admin.
        logger.warning("email_send_task_gave_up", extra={"email_message_id": message_id})
