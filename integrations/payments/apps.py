from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "integrations.payments"
    label = "liaison_payments"
    verbose_name = "Payments (Stripe)"
    default_auto_field = "django.db.models.BigAutoField"
