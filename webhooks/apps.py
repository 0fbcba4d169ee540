from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    label = "liaison_webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Fill the registries once every app is loaded: the host's providers (setting
        `WEBHOOKS_PROVIDERS`), every installed app's `webhook_handlers` module and the
        modules in `WEBHOOKS_HANDLER_MODULES`; then connect Liaison's model-signal receivers
        and register health probes."""
        import webhooks.checks  # noqa: F401  (registers the system checks)
        import webhooks.endpoint_checks as _endpoint_checks  # noqa: F401  (database check)
        from webhooks import health, receivers
        from webhooks.handlers import handler_modules_load
        from webhooks.providers import providers_register_from_settings

        providers_register_from_settings()
        handler_modules_load()
        receivers.connect()
        health.register()
