from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "integrations.core"
    label = "liaison_core"
    verbose_name = "Liaison core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.core import checks  # noqa: F401  (registers the system checks)
