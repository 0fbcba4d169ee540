"""Email errors. Transport failures are the shared `integrations.core.exceptions` types
(`ClientError`, `ServerError`, `Timeout`, `ServiceUnavailable`, `RateLimitExceeded`) raised by
the resilient client; these are the email-specific ones."""

from __future__ import annotations

from integrations.core.exceptions import IntegrationError


class EmailError(IntegrationError):
    """Root of email failures that are not transport failures."""


class EmailNotSendable(EmailError):
    """The message cannot be sent as composed (e.g. no recipient, no content)."""


class EmailAlreadyAccepted(EmailError):
    """SendGrid accepted the message (or may have): resending would mail it twice."""
