from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "integrations.ops"
    label = "liaison_ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.ops import receivers

        receivers.connect()
