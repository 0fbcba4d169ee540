from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "integrations.outbound"
    label = "liaison_outbound"
    verbose_name = "Liaison outbound services"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        # Before any model import can fail on a missing app with a bare RuntimeError.
        from integrations.core.checks import require_apps
        from integrations.outbound.checks import REQUIRES

        require_apps(app=self.name, requires=REQUIRES, check_id="liaison_outbound.E100")
        super().import_models()

    def ready(self) -> None:
        from integrations.outbound import checks  # noqa: F401  (registers the system checks)
