"""Liaison's built-in handlers, found at start-up like any installed app's `webhook_handlers`.

Importing the provider modules registers their handlers (`webhooks.handlers.register`).
"""

from webhooks.handlers import aws_sns, sendgrid, stripe

__all__ = ["aws_sns", "sendgrid", "stripe"]
