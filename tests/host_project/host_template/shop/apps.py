from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers, connected the way Django documents it (handlers need nothing:
        # Liaison imports every installed app's `webhook_handlers` module itself).
        from shop import receivers

        receivers.connect()
