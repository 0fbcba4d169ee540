# ruff: noqa: F821 - appended to the settings.py `django-admin startproject` wrote.
# --- Liaison: the documented minimum (README "Install into an existing project") ----------
import os

INSTALLED_APPS += [
    "rest_framework",
    "social_django",
    "integrations.core",
    "integrations.outbound",
    "integrations.outbox",
    "integrations.payments",
    "integrations.email",
    "integrations.ops",
    "webhooks",
    "oauth_accounts",
    "shop",
]
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]

# Fernet keys for encrypted fields (webhook secrets, OAuth tokens): the first encrypts.
FIELD_ENCRYPTION_KEYS = os.environ["FIELD_ENCRYPTION_KEYS"].split(",")
# OAuth account linking (social-auth): Liaison's URL namespace, backends and pipeline (no user
# is ever created or edited; tokens are stored encrypted by the last step).
SOCIAL_AUTH_URL_NAMESPACE = "liaison_oauth"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "oauth_accounts.backends.google.GoogleBackend",
    "oauth_accounts.backends.github.GitHubBackend",
    "oauth_accounts.backends.oidc.OIDCBackend",
]
SOCIAL_AUTH_PIPELINE = [
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "oauth_accounts.pipeline.require_user",
    "social_core.pipeline.social_auth.associate_user",
    "oauth_accounts.pipeline.store_tokens",
]
# No broker in this project: Celery runs tasks in the calling process.
CELERY_TASK_ALWAYS_EAGER = True
# A webhook provider of the host's own.
WEBHOOKS_PROVIDERS = ["shop.providers.AcmeWebhookProvider"]

# --- the host's production settings (not Liaison's): what `check --deploy` asks for --------
SECRET_KEY = os.environ["HOST_SECRET_KEY"]
DEBUG = os.environ.get("HOST_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ["HOST_ALLOWED_HOSTS"].split(",")
SECURE_SSL_REDIRECT = os.environ.get("HOST_SSL_REDIRECT", "1") == "1"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
STATIC_ROOT = BASE_DIR / "staticfiles"
