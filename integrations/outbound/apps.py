from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "integrations.outbound"
    label = "liaison_outbound"
    verbose_name = "Liaison outbound services"
    default_auto_field = "django.db.models.BigAutoField"
