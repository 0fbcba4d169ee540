from django.apps import AppConfig


class OauthAccountsConfig(AppConfig):
    name = "oauth_accounts"
    label = "liaison_oauth"
    verbose_name = "OAuth accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import pre_save
        from social_django.models import UserSocialAuth

        import oauth_accounts.checks  # noqa: F401  (registers the system checks)
        from oauth_accounts import health
        from oauth_accounts.signals import strip_tokens_before_save

        pre_save.connect(
            strip_tokens_before_save,
            sender=UserSocialAuth,
            dispatch_uid="oauth_accounts.strip_tokens_before_save",
        )
        health.register()
