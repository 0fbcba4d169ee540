from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "integrations.core"
    label = "liaison_core"
    verbose_name = "Liaison core"
    default_auto_field = "django.db.models.BigAutoField"
