from django.apps import AppConfig


class EmailConfig(AppConfig):
    name = "integrations.email"
    label = "liaison_email"
    verbose_name = "Email (SendGrid)"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        # Before any model import can fail on a missing app with a bare RuntimeError.
        from integrations.core.checks import require_apps
        from integrations.email.checks import REQUIRES

        require_apps(app=self.name, requires=REQUIRES, check_id="liaison_email.E100")
        super().import_models()

    def ready(self) -> None:
        from integrations.email import checks  # noqa: F401  (registers the system checks)
        from integrations.email.services import outbox

        outbox.register()  # the outbox action `email.send`
