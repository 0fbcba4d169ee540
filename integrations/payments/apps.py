from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "integrations.payments"
    label = "liaison_payments"
    verbose_name = "Payments (Stripe)"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        # Before any model import can fail on a missing app with a bare RuntimeError.
        from integrations.core.checks import require_apps
        from integrations.payments.checks import REQUIRES

        require_apps(app=self.name, requires=REQUIRES, check_id="liaison_payments.E100")
        super().import_models()

    def ready(self) -> None:
        from integrations.payments import checks  # noqa: F401  (registers the system checks)
