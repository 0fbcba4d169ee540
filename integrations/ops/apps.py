from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "integrations.ops"
    label = "liaison_ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        # Before any model import can fail on a missing app with a bare RuntimeError.
        from integrations.core.checks import require_apps
        from integrations.ops.checks import REQUIRES

        require_apps(app=self.name, requires=REQUIRES, check_id="liaison_ops.E100")
        super().import_models()

    def ready(self) -> None:
        from integrations.ops import checks, receivers  # noqa: F401  (checks registers them)

        receivers.connect()
