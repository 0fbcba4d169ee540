"""One `EmailMessage` row per send, updated by SendGrid's event webhook."""

from __future__ import annotations

from django.db import models


class EmailMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        # The POST to SendGrid started and no outcome is recorded yet (see services.send).
        SENDING = "sending"
        SENT = "sent"
        DEFERRED = "deferred"
        DELIVERED = "delivered"
        BOUNCED = "bounced"
        DROPPED = "dropped"
        SPAM_REPORT = "spam_report"
        UNSUBSCRIBED = "unsubscribed"
        OPENED = "opened"
        CLICKED = "clicked"
        FAILED = "failed"
        # SENDGRID_API_KEY not set: recorded and printed to the console, nothing left.
        CONSOLE = "console", "Recorded, not sent (console only)"

    class Transport(models.TextChoices):
        SENDGRID = "sendgrid", "SendGrid"
        SANDBOX = "sandbox", "SendGrid sandbox (not delivered)"
        CONSOLE = "console", "Console only (SENDGRID_API_KEY not set)"

    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    from_email = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    template_id = models.CharField(max_length=255, blank=True)
    # What `resend` needs to send the same message again (bodies, template data, categories,
    # custom args, attachments as base64). Not shown in the admin list.
    request = models.JSONField(default=dict, blank=True)
    sg_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    transport = models.CharField(max_length=16, choices=Transport.choices, blank=True)
    # [{"event": ..., "at": epoch seconds, "sg_event_id": ..., ...}] in arrival order.
    timeline = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set for messages that must go out at most once (e.g. "payment:pi_123:succeeded").
    purpose_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the latest POST to SendGrid started: the outbox waits for SendGrid's `processed`
    # event from here before it sends a message left `sending` again.
    send_started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        # Resending mails a customer again: a permission of its own, not "change".
        permissions = [("resend_emailmessage", "Can resend email messages")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject!r} ({self.status})"

    @property
    def recipient_count(self) -> int:
        return len(self.to) + len(self.cc) + len(self.bcc)
