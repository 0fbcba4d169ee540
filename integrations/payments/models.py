"""Local copies of Stripe objects, kept in sync by the API calls, the webhooks and
`manage.py stripe_sync`.

Synced fields are written only by `integrations.payments.sync`. `last_event_at` is the
`created` time of the newest Stripe event applied to the row: an older event that arrives
late is ignored, so out-of-order deliveries cannot roll a row back.

Columns written from Stripe objects are as wide as Stripe documents its values (metadata values
500 characters, emails 512, customer names 256; ids up to 255), or are text where Stripe sets
no limit (codes, names, descriptions, URLs), so no event Stripe can send is refused by the
database.

Each row's `stripe_customer_id` (and the like) holds Stripe's id even when the related local
row does not exist yet; the foreign key is filled in when that row arrives, whatever the
order of the events.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from integrations.payments.money import amount_format


class Customer(models.Model):
    """A Stripe Customer. Created only from Stripe data (webhooks, API responses,
    `stripe_sync`): never from the admin, so a row always has its `stripe_id`. Linked to the
    host's user by `STRIPE_CUSTOMER_USER_MATCH` (see `integrations.payments.sync.customers`)."""

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
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
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
        shown = amount_format(amount=self.amount, currency=self.currency)
        return f"{self.stripe_id} ({shown}, {self.status})"

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
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    price_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    # The `trial_end` a `customer.subscription.trial_will_end` was last signalled for, so a
    # duplicate delivery (or a late one) does not warn twice about the same trial.
    trial_will_end_sent_for = models.DateTimeField(null=True, blank=True)
    # `pause_collection.behavior` ("keep_as_draft", "mark_uncollectible", "void") or "".
    pause_collection = models.CharField(max_length=32, blank=True)
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


class _Synced(models.Model):
    """What every synced Stripe object has (see the module docstring)."""

    stripe_id = models.CharField(max_length=255, unique=True)
    livemode = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.stripe_id


class Product(_Synced):
    # Stripe documents no length for a product's name or description: text.
    name = models.TextField(blank=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    default_price_id = models.CharField(max_length=255, blank=True)
    deleted = models.BooleanField(default=False)


class Price(_Synced):
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="prices"
    )
    stripe_product_id = models.CharField(max_length=255, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3, blank=True)
    # Null for tiered or customer-chosen prices (`billing_scheme=tiered`, `custom_unit_amount`).
    unit_amount = models.BigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=16, blank=True)
    recurring_interval = models.CharField(max_length=8, blank=True)
    recurring_interval_count = models.PositiveIntegerField(null=True, blank=True)
    nickname = models.TextField(blank=True)
    # Stripe: lookup keys hold up to 200 characters.
    lookup_key = models.CharField(max_length=200, blank=True)
    deleted = models.BooleanField(default=False)


class Invoice(_Synced):
    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        PAID = "paid"
        UNCOLLECTIBLE = "uncollectible"
        VOID = "void"

    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    number = models.TextField(blank=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)
    billing_reason = models.TextField(blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # Minor units; `total` is negative for a credit.
    total = models.BigIntegerField(default=0)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    attempt_count = models.PositiveIntegerField(default=0)
    customer_email = models.EmailField(max_length=512, blank=True)
    hosted_invoice_url = models.TextField(blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.number or self.stripe_id


class CheckoutSession(_Synced):
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checkout_sessions",
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    # `customer_details.email`, else `customer_email`.
    customer_email = models.EmailField(max_length=512, blank=True)
    # Stripe: up to 200 characters.
    client_reference_id = models.CharField(max_length=200, blank=True, db_index=True)
    mode = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, blank=True, db_index=True)
    payment_status = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    amount_total = models.BigIntegerField(null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)


class Dispute(_Synced):
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes"
    )
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    # Open-ended at Stripe (new reasons and statuses appear): text.
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    is_charge_refundable = models.BooleanField(default=False)


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
