"""Local copies of Stripe objects, kept in sync by the API calls, the webhooks and
`manage.py stripe_sync`.

Synced fields are written only by `integrations.payments.sync`. `last_event_at` is the
`created` time of the newest Stripe event applied to the row: an older event that arrives
late is ignored, so out-of-order deliveries cannot roll a row back.

Columns written from Stripe objects are as wide as Stripe documents its values (metadata values
500 characters, emails 512, customer names 256; ids up to 255), or are text where Stripe sets
no limit (codes), so no event Stripe can send is refused by the database.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Customer(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stripe_customer",
    )
    email = models.EmailField(max_length=512, blank=True)
    name = models.CharField(max_length=256, blank=True)
    livemode = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.stripe_id


class Payment(models.Model):
    """One Stripe PaymentIntent."""

    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method"
        REQUIRES_CONFIRMATION = "requires_confirmation"
        REQUIRES_ACTION = "requires_action"
        PROCESSING = "processing"
        REQUIRES_CAPTURE = "requires_capture"
        CANCELED = "canceled"
        SUCCEEDED = "succeeded"

    stripe_id = models.CharField("payment intent", max_length=255, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    # `metadata.order_reference`: Stripe metadata values hold up to 500 characters.
    order_reference = models.CharField(max_length=500, blank=True, db_index=True)
    amount = models.PositiveBigIntegerField(help_text="In the currency's minor unit.")
    amount_received = models.PositiveBigIntegerField(default=0)
    amount_refunded = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=Status.choices, db_index=True)
    description = models.CharField(max_length=1000, blank=True)
    receipt_email = models.EmailField(max_length=512, blank=True)
    # `last_payment_error.code` / `.decline_code`: open-ended strings at Stripe.
    failure_code = models.TextField(blank=True)
    decline_code = models.TextField(blank=True)
    livemode = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        # Refunding moves money at Stripe: a permission of its own, not "change".
        permissions = [("refund_payment", "Can refund payments at Stripe")]

    def __str__(self) -> str:
        return f"{self.stripe_id} ({self.amount} {self.currency.upper()}, {self.status})"

    @property
    def refundable_amount(self) -> int:
        if self.status != self.Status.SUCCEEDED:
            return 0
        return max(0, (self.amount_received or self.amount) - self.amount_refunded)


class Subscription(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    price_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    latest_invoice_id = models.CharField(max_length=255, blank=True)
    latest_invoice_status = models.CharField(max_length=32, blank=True)
    latest_invoice_event_at = models.DateTimeField(null=True, blank=True)
    livemode = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("cancel_subscription", "Can cancel subscriptions at Stripe")]

    def __str__(self) -> str:
        return f"{self.stripe_id} ({self.status})"

    @property
    def is_cancelable(self) -> bool:
        return self.status not in ("canceled", "incomplete_expired", "")


class StripeSyncCursor(models.Model):
    """Where `manage.py stripe_sync <resource>` stopped, so an interrupted run resumes."""

    resource = models.CharField(max_length=32, unique=True)
    starting_after = models.CharField(max_length=255, blank=True)
    objects_synced = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.resource} after {self.starting_after or '(start)'}"
