"""One `OutboxItem` per side effect that must happen after a committed state change."""

from __future__ import annotations

from django.db import models


class OutboxItem(models.Model):
    """Written in the same transaction as the change it follows (`outbox_enqueue`).

    `purpose_key` is unique: the same intent recorded twice (a duplicate webhook, a retried
    handler) is one row, so it is performed once. `payload` names what to act on (ids), never
    secrets or message bodies. `claimed_at` is the claim's token: a worker may record the
    outcome only while the row still carries the value its claim wrote.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DONE = "done"
        DEAD = "dead"

    purpose_key = models.CharField(max_length=255, unique=True)
    action = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Redacted (`integrations.core.redaction`) and capped: class and message, no traceback.
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        # Retrying a dead row performs its side effect again: a permission of its own.
        permissions = [("retry_outboxitem", "Can retry dead outbox items")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.purpose_key} ({self.status})"
