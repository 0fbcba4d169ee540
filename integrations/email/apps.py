from django.apps import AppConfig


class EmailConfig(AppConfig):
    name = "integrations.email"
    label = "liaison_email"
    verbose_name = "Email (SendGrid)"
    default_auto_field = "django.db.models.BigAutoField"
