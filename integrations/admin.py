"""Admin registrations of the `integrations` app (each sub-package registers its own)."""

from integrations.email import admin as email_admin
from integrations.payments import admin as payments_admin

__all__ = ["email_admin", "payments_admin"]
