from django.apps import AppConfig


class OauthAccountsConfig(AppConfig):
    name = "oauth_accounts"
    verbose_name = "OAuth accounts"
    default_auto_field = "django.db.models.BigAutoField"
