"""Models of the `integrations` app.

They live in the sub-packages that use them and are imported here so Django sees them as
models of this app (one migration history for the foundation and the service modules).
"""

from integrations.email.models import EmailMessage
from integrations.payments.models import Customer, Payment, StripeSyncCursor, Subscription

__all__ = ["Customer", "EmailMessage", "Payment", "StripeSyncCursor", "Subscription"]
