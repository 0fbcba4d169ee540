"""Outbox errors, under the shared `IntegrationError` root (an action is an outbound call).

An action raises `OutboxRetry` for a failure that may pass (the relay schedules another
attempt), `OutboxPermanentError` for one that never will (the row is dead at once). Transport
errors of the resilient client keep their own `retryable` flag; database errors are retried.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from integrations.core.exceptions import IntegrationError


class OutboxError(IntegrationError):
    """Root of outbox failures."""


class OutboxRetry(OutboxError):
    """The action did not complete and may succeed later."""

    retryable = True


class OutboxPermanentError(OutboxError):
    """The action cannot succeed: the row goes dead without further attempts."""


class UnknownOutboxAction(ImproperlyConfigured):
    """A row names an action nobody registered (a missing app, or a typo)."""
