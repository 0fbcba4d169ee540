"""Apply Stripe object snapshots (from an event, an API response or a list page) to the
local models.

Every function takes the object as Stripe sends it (a plain dict, as in an event's
`data.object`) and the `created` time of the event that carried it (`event_at`, None for an
API snapshot). A snapshot older than the newest event already applied to the row is ignored,
so a late, out-of-order delivery never rolls a row back; at an equal time (Stripe's clock has
whole seconds) a final state wins. Rows are locked while compared and written, so two workers
applying events of the same object serialize. No function calls Stripe. Each function opens
a transaction only when its caller has none (`atomic(savepoint=False)`: inside a webhook
event's transaction it adds no SAVEPOINT; an error fails the caller's whole transaction).

Signals (`integrations.payments.signals`) are sent here, inside that transaction and only when
a change is written: a stale or duplicate snapshot sends nothing.

Shapes: both the pre-2025-03-31 shapes (e.g. `subscription.current_period_end`,
`invoice.subscription`) and the current ones (`items.data[].current_period_end`,
`invoice.parent.subscription_details.subscription`) are read.
"""

from integrations.payments.sync.base import SyncResult, from_epoch, object_id
from integrations.payments.sync.billing import (
    checkout_session_sync,
    invoice_sync,
    price_sync,
    product_sync,
)
from integrations.payments.sync.customers import customer_sync, customer_user_find
from integrations.payments.sync.payments import dispute_sync, payment_sync, payment_sync_refund
from integrations.payments.sync.subscriptions import (
    invoice_subscription_id,
    subscription_sync,
    subscription_sync_invoice,
)

__all__ = [
    "SyncResult",
    "checkout_session_sync",
    "customer_sync",
    "customer_user_find",
    "dispute_sync",
    "from_epoch",
    "invoice_subscription_id",
    "invoice_sync",
    "object_id",
    "payment_sync",
    "payment_sync_refund",
    "price_sync",
    "product_sync",
    "subscription_sync",
    "subscription_sync_invoice",
]
