"""Admin for the Stripe models, reading like Stripe's dashboard: amounts in currency units,
links to the object in Stripe's dashboard (test or live), cross-links between customers,
subscriptions, invoices, payments, disputes, Checkout Sessions, products and prices, and to
the webhook events that changed each row. Synced rows are read-only: no Add, Save or Delete.

Actions call the payments services after a confirmation page and report how many rows they
touched. Refunding needs `liaison_payments.refund_payment`, cancelling
`liaison_payments.cancel_subscription` (custom permissions: "change" alone moves no money);
the confirmation flow is `integrations.core.admin_actions.confirmed_action`.
"""

from integrations.payments.admin.billing import (
    InvoiceAdmin,
    PriceAdmin,
    ProductAdmin,
    StripeSyncCursorAdmin,
    SubscriptionAdmin,
)
from integrations.payments.admin.customers import CustomerAdmin
from integrations.payments.admin.payments import CheckoutSessionAdmin, DisputeAdmin, PaymentAdmin

__all__ = [
    "CheckoutSessionAdmin",
    "CustomerAdmin",
    "DisputeAdmin",
    "InvoiceAdmin",
    "PaymentAdmin",
    "PriceAdmin",
    "ProductAdmin",
    "StripeSyncCursorAdmin",
    "SubscriptionAdmin",
]
