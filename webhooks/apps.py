from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    label = "liaison_webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks import health, signals
        from webhooks.handlers import load_handler_modules

        load_handler_modules()
        signals.connect()
        health.register()
