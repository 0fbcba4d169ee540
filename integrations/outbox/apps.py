from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "integrations.outbox"
    label = "liaison_outbox"
    verbose_name = "Outbox (side effects after a state change)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks and the outbox section of `integrations.ops`."""
        from integrations.outbox import checks, health  # noqa: F401  (checks register)

        health.register()
