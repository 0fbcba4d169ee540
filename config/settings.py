"""Liaison settings.

Only this package reads the environment (django-environ). Every variable is documented in
`.env.example`. A `.env` file next to `manage.py` is read when present, unless
`LIAISON_READ_DOT_ENV=0` (the test settings set that so a developer's `.env` cannot leak into
the suite).

Embedded default: SQLite, in-process cache, Celery tasks run eagerly. Set `DATABASE_URL`,
`REDIS_URL` and `CELERY_BROKER_URL` for PostgreSQL, shared state and real workers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

# Liaison's own defaults live in each app's conf.py; only the few this file needs to build
# something (the beat schedule) are imported, never repeated.
from integrations.ops import conf as ops_conf
from integrations.outbox import conf as outbox_conf
from oauth_accounts import conf as oauth_conf
from oauth_accounts.settings_defaults import (
    LIAISON_AUTHENTICATION_BACKENDS,
    LIAISON_SOCIAL_AUTH_PIPELINE,
    LIAISON_URL_NAMESPACE,
)
from webhooks import conf as webhooks_conf

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if os.environ.get("LIAISON_READ_DOT_ENV", "1") != "0" and (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _from_env(read: Callable[[str], Any], *names: str) -> dict[str, Any]:
    """The settings among `names` that the environment sets, read with `read`.

    For Liaison's app settings: a variable that is absent (or empty, for anything but text) is
    left out, so the app's own `conf.py` default applies and this file repeats none of them.
    """
    values: dict[str, Any] = {}
    for name in names:
        raw = env.ENVIRON.get(name)
        if raw is None or (read != env.str and not raw.strip()):
            continue
        values[name] = read(name)
    return values


def _int_list(name: str) -> list[int | str]:
    """Comma-separated integers; an item that is not one is kept as text, so the system check
    (`liaison_webhooks.E001`) names the setting instead of the import failing."""
    return [int(v) if v.strip().isdigit() else v for v in env.list(name)]


def _required_secret(name: str, *, dev_fallback: str | None) -> str:
    """A secret that must be set in production; in DEBUG an explicit fallback may be used."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG and dev_fallback is not None:
        return dev_fallback
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; see .env.example "
        f"(`make run` writes a .env with freshly generated values)."
    )


# A per-process random key in DEBUG keeps `manage.py` usable without a .env; sessions simply
# do not survive a restart. Production must set its own.
SECRET_KEY = _required_secret("SECRET_KEY", dev_fallback=secrets.token_urlsafe(50))

# Comma-separated Fernet keys: the first encrypts, every key decrypts. Independent of
# SECRET_KEY so that rotating one never makes the other's data unreadable. No fallback even
# in DEBUG: data encrypted under a throw-away key would be lost on restart.
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS is not set. It is required when DEBUG is off: a comma-separated "
        "list of Fernet keys (generate one with `python -m config.init_env --print-key`)."
    )

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "social_django",
    # Liaison's apps, as a host project lists them (README: "Install into an existing project").
    "integrations.core",
    "integrations.outbound",
    "integrations.outbox",
    "integrations.payments",
    "integrations.email",
    "integrations.ops",
    "webhooks",
    "oauth_accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///db.sqlite3")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] not in ("", ":memory:") and not os.path.isabs(_db["NAME"]):
        _db["NAME"] = str(BASE_DIR / _db["NAME"])
    # WAL + IMMEDIATE transactions: concurrent writers wait for the lock instead of failing
    # with "database is locked" halfway through a transaction.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
# Liaison's hottest statements prepared per connection (default in integrations/core/conf.py);
# 0 behind a transaction-pooling PgBouncer older than 1.21.
globals().update(_from_env(env.bool, "LIAISON_PREPARED_STATEMENTS"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and shared state ------------------------------------------------------------------

# REDIS_URL holds state every process must share (circuit breakers, rate limiters, locks).
# Unset: in-process state, fine for one process (the embedded default).
REDIS_URL: str = env.str("REDIS_URL", default="")
# Socket timeouts for every Redis client (cache, shared state, broker, result backend): a hung
# Redis (accepting nothing, answering nothing) costs a request about a second, then the caller
# falls back (the cache is an optimisation; breaker state has an in-process fallback).
REDIS_SOCKET_CONNECT_TIMEOUT: float = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT: float = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "liaison",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ----------------------------------------------------------------------------------

CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default="")
# No broker: tasks run eagerly in the calling process so the embedded default needs nothing.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    # Celery still sets up a producer for eager calls; the in-memory transport keeps it from
    # looking for an AMQP server on localhost.
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran, and give the message back when the worker process dies, so
# a killed worker's task is redelivered instead of lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis broker: an unacknowledged message is handed out again after this many seconds.
    # Short, since every task is safe to run twice (claims in the database) and a dead
    # worker's message should come back soon; longer than the longest task.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    # A hung broker must not hang a publish: fail fast, the database row is the record.
    "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
# Two queues: `celery` (processing, email wake-ups) and `liaison_dispatch` (the sweeps that
# recover from lost messages and dead workers), so a backlog never delays recovery. A worker
# started without `-Q` consumes both (kombu round-robins between them); give the dispatch
# queue its own worker with `-Q liaison_dispatch` when the backlog is large.
# The queues themselves are declared in config/celery.py.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "webhooks.tasks.webhook_events_dispatch_due_task": {"queue": "liaison_dispatch"},
    "integrations.outbox.tasks.outbox_relay_sweep_task": {"queue": "liaison_dispatch"},
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- auth ------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/connections/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- security (production) -------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("TRUST_X_FORWARDED_PROTO", False) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- logging ---------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# --- webhooks --------------------------------------------------------------------------------

# Only what the environment sets; every default is in webhooks/conf.py (README: "Settings
# reference"). WEBHOOKS_PUBLIC_BASE_URL: scheme and host providers post to (Twilio signs the
# full URL). WEBHOOKS_RETRY_SCHEDULE: seconds between failed attempts, comma-separated.
_webhooks = {
    **_from_env(env.str, "WEBHOOKS_PUBLIC_BASE_URL"),
    **_from_env(_int_list, "WEBHOOKS_RETRY_SCHEDULE"),
    **_from_env(
        env.int,
        "WEBHOOKS_PROCESSING_LEASE_SECONDS",
        "WEBHOOKS_PENDING_GRACE_SECONDS",
        "WEBHOOKS_DISPATCH_INTERVAL_SECONDS",
        "WEBHOOKS_DISPATCH_BATCH_SIZE",
        "WEBHOOKS_ENDPOINT_CACHE_SECONDS",
        "WEBHOOKS_VERIFICATION_FAILURES_KEPT",
        "WEBHOOKS_LAST_ERROR_MAX_CHARS",
        "WEBHOOKS_EAGER_BATCH_LIMIT",
        "WEBHOOKS_SNS_CERT_CACHE_SECONDS",
        "WEBHOOKS_RETENTION_DAYS",
    ),
    **_from_env(env.bool, "WEBHOOKS_RETENTION_INCLUDE_FAILED"),
    **_from_env(
        env.float,
        "WEBHOOKS_RETENTION_BATCH_SECONDS",
        "WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS",
        "WEBHOOKS_TEST_DELIVERY_TIMEOUT",
        "WEBHOOKS_EAGER_TIME_BUDGET_SECONDS",
    ),
    # Eager mode only (no broker): the in-process dispatcher thread (webhooks/publisher.py).
    **_from_env(env.bool, "WEBHOOKS_EAGER_DISPATCHER"),
    # AWS SNS endpoints: confirm SubscriptionConfirmation messages by themselves (or by staff).
    **_from_env(env.bool, "WEBHOOKS_SNS_AUTO_CONFIRM"),
    **_from_env(env.list, "WEBHOOKS_PROVIDERS", "WEBHOOKS_HANDLER_MODULES"),
}
globals().update(_webhooks)
CELERY_BEAT_SCHEDULE["webhooks-dispatch-due"] = {
    "task": "webhooks.tasks.webhook_events_dispatch_due_task",
    "schedule": float(
        _webhooks.get(
            "WEBHOOKS_DISPATCH_INTERVAL_SECONDS", webhooks_conf.DEFAULT_DISPATCH_INTERVAL_SECONDS
        )
    ),
}
# Retention: delete processed/ignored events past WEBHOOKS_RETENTION_DAYS, in bounded batches.
CELERY_BEAT_SCHEDULE["webhooks-retention"] = {
    "task": "webhooks.tasks.webhook_events_retention_task",
    "schedule": float(webhooks_conf.DEFAULT_RETENTION_INTERVAL_SECONDS),
}

# --- outbox: side effects after a state change (integrations.outbox) -------------------------

# Only what the environment sets; defaults in integrations/outbox/conf.py.
# OUTBOX_RETRY_SCHEDULE: seconds between attempts, comma-separated.
_outbox = {
    **_from_env(_int_list, "OUTBOX_RETRY_SCHEDULE"),
    **_from_env(env.int, "OUTBOX_LEASE_SECONDS", "OUTBOX_RELAY_BATCH_SIZE"),
    **_from_env(env.float, "OUTBOX_RELAY_INTERVAL_SECONDS"),
    **_from_env(env.bool, "OUTBOX_EAGER_RELAY"),
}
globals().update(_outbox)
CELERY_BEAT_SCHEDULE["outbox-relay-sweep"] = {
    "task": "integrations.outbox.tasks.outbox_relay_sweep_task",
    "schedule": float(
        _outbox.get("OUTBOX_RELAY_INTERVAL_SECONDS", outbox_conf.DEFAULT_RELAY_INTERVAL_SECONDS)
    ),
}

# --- payments and email (Stripe, SendGrid) ---------------------------------------------------

# Only what the environment sets; defaults in integrations/payments/conf.py and
# integrations/email/conf.py. Without STRIPE_SECRET_KEY every Stripe call fails with
# "STRIPE_SECRET_KEY not set"; without SENDGRID_API_KEY messages are recorded and printed.
globals().update(
    {
        **_from_env(env.str, "STRIPE_SECRET_KEY", "STRIPE_API_VERSION", "SENDGRID_API_KEY"),
        **_from_env(env.str, "STRIPE_CUSTOMER_USER_MATCH", "STRIPE_CUSTOMER_USER_METADATA_KEY"),
        **_from_env(
            env.int,
            "STRIPE_MAX_NETWORK_RETRIES",
            "SENDGRID_PROCESSED_WAIT_SECONDS",
        ),
        **_from_env(env.float, "STRIPE_CONNECT_TIMEOUT", "STRIPE_READ_TIMEOUT"),
        **_from_env(env.bool, "PAYMENTS_SEND_EMAILS", "SENDGRID_SANDBOX_MODE"),
    }
)
# Django's own email settings; the reference project sends through SendGrid.
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="Liaison <noreply@localhost>")
SERVER_EMAIL: str = env.str("SERVER_EMAIL", default="") or DEFAULT_FROM_EMAIL
EMAIL_BACKEND: str = env.str("EMAIL_BACKEND", default="integrations.email.backend.SendGridBackend")

# --- outbound HTTP: retries, circuit breakers, rate limiters (integrations.outbound) ---------

# Only what the environment sets; defaults in integrations/outbound/conf.py.
# INTEGRATIONS_SERVICES: JSON {"service": {"option": value}} (built in: stripe, sendgrid,
# google, github, oidc; options: integrations/outbound/config.py, checked by
# `manage.py check`). INTEGRATIONS_HTTP_DEFAULTS: the same options for every service.
globals().update(
    {
        **_from_env(env.json, "INTEGRATIONS_SERVICES", "INTEGRATIONS_HTTP_DEFAULTS"),
        **_from_env(env.str, "INTEGRATIONS_STATE_PREFIX"),
        **_from_env(env.int, "INTEGRATIONS_METRICS_WINDOW_SECONDS"),
        **_from_env(env.float, "INTEGRATIONS_REDIS_RETRY_SECONDS"),
    }
)
# Every console log line goes through the credential-redacting filter.
LOGGING.setdefault("filters", {})["redact_secrets"] = {  # type: ignore[index]
    "()": "integrations.core.redaction.RedactingFilter"
}
LOGGING["handlers"]["console"].setdefault("filters", []).append("redact_secrets")  # type: ignore[index]

# --- OAuth account linking (oauth_accounts) --------------------------------------------------

# Only what the environment sets; defaults in oauth_accounts/conf.py. A provider is enabled
# when its client id and secret are set (OIDC also needs the issuer). Callback URL to register
# at each provider: <site>/oauth/complete/<google|github|oidc>/ (`manage.py oauth_providers`).
_oauth = {
    **_from_env(
        env.str,
        "OAUTH_GOOGLE_CLIENT_ID",
        "OAUTH_GOOGLE_CLIENT_SECRET",
        "OAUTH_GITHUB_CLIENT_ID",
        "OAUTH_GITHUB_CLIENT_SECRET",
        "OAUTH_OIDC_ISSUER",
        "OAUTH_OIDC_CLIENT_ID",
        "OAUTH_OIDC_CLIENT_SECRET",
        "OAUTH_OIDC_TITLE",
        "OAUTH_OIDC_PROMPT",
        "OAUTH_PUBLIC_BASE_URL",
    ),
    **_from_env(
        env.json,
        "OAUTH_GOOGLE_AUTH_EXTRA_ARGUMENTS",
        "OAUTH_GITHUB_AUTH_EXTRA_ARGUMENTS",
        "OAUTH_OIDC_AUTH_EXTRA_ARGUMENTS",
    ),
    **_from_env(env.list, "OAUTH_GOOGLE_SCOPES", "OAUTH_GITHUB_SCOPES", "OAUTH_OIDC_SCOPES"),
    **_from_env(
        env.int,
        "OAUTH_REFRESH_MARGIN_SECONDS",
        "OAUTH_IDLE_REFRESH_DAYS",
        "OAUTH_REFRESH_MAX_FAILURES",
        "OAUTH_REFRESH_BACKOFF_SECONDS",
        "OAUTH_REFRESH_BACKOFF_CAP_SECONDS",
        "OAUTH_REFRESH_EVERY_MINUTES",
        "OAUTH_REFRESH_LEASE_SECONDS",
    ),
    **_from_env(env.float, "OAUTH_REFRESH_WAIT_SECONDS"),
    **_from_env(env.bool, "OAUTH_LOGIN_WITH_PROVIDER"),
}
globals().update(_oauth)

# What a host project must add for oauth_accounts (checked by `manage.py check`).
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, *LIAISON_AUTHENTICATION_BACKENDS]
SOCIAL_AUTH_URL_NAMESPACE = LIAISON_URL_NAMESPACE
SOCIAL_AUTH_PIPELINE = LIAISON_SOCIAL_AUTH_PIPELINE
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/connections/"
SOCIAL_AUTH_NEW_ASSOCIATION_REDIRECT_URL = "/connections/"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/connections/"
SOCIAL_AUTH_SANITIZE_REDIRECTS = True
SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS: list[str] = []
SOCIAL_AUTH_REDIRECT_IS_HTTPS = env.bool("SOCIAL_AUTH_REDIRECT_IS_HTTPS", default=False)
CELERY_BEAT_SCHEDULE["oauth-accounts-refresh-due-tokens"] = {
    "task": "oauth_accounts.refresh_due_tokens",
    "schedule": 60.0
    * _oauth.get("OAUTH_REFRESH_EVERY_MINUTES", oauth_conf.DEFAULT_REFRESH_EVERY_MINUTES),
}

# --- staff API and OpenAPI schema (drf-spectacular) -----------------------------------------

INSTALLED_APPS = [*INSTALLED_APPS, "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"  # type: ignore[assignment]
SPECTACULAR_SETTINGS = {
    "TITLE": "Liaison API",
    "DESCRIPTION": (
        "Staff API (/api/staff/: webhook events and replay, endpoints, connected accounts, "
        "health; staff session required) and the signed-in user's own connections "
        "(/api/connections/). Secrets and tokens are never part of a response."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for staff, like the API they describe.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "SERVE_AUTHENTICATION": ["rest_framework.authentication.SessionAuthentication"],
    # Swagger UI from the drf-spectacular-sidecar package's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventStatusEnum": "webhooks.models.WebhookEvent.Status",
        "ConnectedAccountStatusEnum": "oauth_accounts.models.ConnectedAccount.Status",
    },
}

# --- security: brute-force rate limits and Content-Security-Policy (issue 8) ----------------

# "<count>/<s|m|h|d>"; empty switches a limit off. Counted in the default cache (shared through
# Redis when REDIS_URL is set); while the cache is unreachable the limits are skipped (logged)
# rather than failing every request (integrations/core/ratelimits.py). Only what the
# environment sets; the defaults are integrations/core/conf.py's DEFAULT_RATE_LIMITS.
# RATELIMIT_LOGIN / RATELIMIT_LOGIN_USERNAME: login POSTs per client IP / per username and IP;
# RATELIMIT_CONNECT: starting an OAuth connection, per user (or IP); RATELIMIT_API_ANON /
# RATELIMIT_API_USER: the API (DRF throttles), per IP / per user.
globals().update(
    _from_env(
        env.str,
        "RATELIMIT_LOGIN",
        "RATELIMIT_LOGIN_USERNAME",
        "RATELIMIT_CONNECT",
        "RATELIMIT_API_ANON",
        "RATELIMIT_API_USER",
    )
)
# django-ratelimit's own settings:
# The request.META key holding the client IP. Behind a reverse proxy that sets it, e.g.
# HTTP_X_REAL_IP; the default REMOTE_ADDR would count every client as the proxy.
RATELIMIT_IP_META_KEY: str = env.str("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")
# A counter the cache could not update does not block the request (see above).
RATELIMIT_FAIL_OPEN = True
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "integrations.core.ratelimits.ApiAnonRateThrottle",
    "integrations.core.ratelimits.ApiUserRateThrottle",
]

# Content-Security-Policy (django-csp 4): only this site's scripts, nothing inline, no
# framing, no plugins. Styles allow 'unsafe-inline' because the Django admin sets style
# attributes from its templates and scripts (widgets, popups); inline *scripts* stay blocked.
# img-src allows data: URIs (admin widgets). No form-action: the connect form POSTs here and
# is redirected to the provider, which browsers would check against form-action too.
# (Not named CSP_REPORT_URI here: django-csp refuses its pre-4.0 CSP_* setting names.)
_csp_report_uri: str = env.str("CSP_REPORT_URI", default="")
_csp_directives: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if _csp_report_uri:
    _csp_directives["report-uri"] = [_csp_report_uri]
CONTENT_SECURITY_POLICY = {"DIRECTIVES": _csp_directives}
INSTALLED_APPS = [*INSTALLED_APPS, "csp"]
MIDDLEWARE = [*MIDDLEWARE, "integrations.core.csp.CSPMiddleware"]

# --- operations: health dashboard, alerts, metrics, structured logs (integrations.ops)

# Only what the environment sets; defaults in integrations/ops/conf.py. Alert thresholds
# (dashboard, admin index, `manage.py integrations_health`, /metrics); ALERT_EMAIL_ADMINS
# e-mails ADMINS (through EMAIL_BACKEND) on every alert raised or cleared. /metrics is
# allowed with "Authorization: Bearer <METRICS_TOKEN>" or from METRICS_ALLOWED_IPS
# (addresses or CIDR networks); with neither set, loopback clients only.
_ops = {
    **_from_env(env.float, "ALERT_OUTBOUND_ERROR_RATE"),
    **_from_env(
        env.int,
        "ALERT_OUTBOUND_MIN_ATTEMPTS",
        "ALERT_VERIFICATION_FAILURES_PER_HOUR",
        "ALERT_OAUTH_REFRESH_FAILURES",
        "ALERT_OAUTH_RECONNECT_WINDOW_HOURS",
        "ALERT_WEBHOOK_LAG_SECONDS",
        "ALERT_WEBHOOK_DEAD_EVENTS",
        "ALERT_WEBHOOK_FAILED_EVENTS",
        "ALERT_OUTBOX_DEAD_ITEMS",
        "ALERTS_CHECK_INTERVAL_SECONDS",
    ),
    **_from_env(env.bool, "ALERT_EMAIL_ADMINS"),
    **_from_env(env.str, "METRICS_TOKEN"),
    **_from_env(env.list, "METRICS_ALLOWED_IPS"),
}
globals().update(_ops)
ADMINS: list[tuple[str, str]] = [("", address) for address in env.list("ADMINS", default=[])]
CELERY_BEAT_SCHEDULE["integrations-health-check"] = {
    "task": "integrations.ops.health_check",
    "schedule": float(
        _ops.get("ALERTS_CHECK_INTERVAL_SECONDS", ops_conf.DEFAULT_ALERTS_CHECK_INTERVAL_SECONDS)
    ),
}
# Log lines as JSON objects (one per line) or plain text; JSON unless DEBUG.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'plain'")
MIDDLEWARE = ["integrations.ops.logs.RequestIdMiddleware", *MIDDLEWARE]
LOGGING["formatters"]["json"] = {  # type: ignore[index]
    "()": "integrations.ops.logs.JsonFormatter"
}
LOGGING["formatters"]["plain"]["format"] = (  # type: ignore[index]
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
)
LOGGING["filters"]["request_context"] = {  # type: ignore[index]
    "()": "integrations.ops.logs.RequestContextFilter"
}
for _handler in LOGGING["handlers"].values():  # type: ignore[attr-defined]
    # Every handler redacts credentials and carries the request/task ids.
    _filters = _handler.setdefault("filters", [])
    for _name in ("redact_secrets", "request_context"):
        if _name not in _filters:
            _filters.append(_name)
    if _handler.get("formatter") == "plain":
        _handler["formatter"] = LOG_FORMAT
# Workers keep Django's LOGGING (JSON lines with request ids) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- production serving and abuse limits (issue 18) ---------------------------------------

# Login limits, checked in this order (a request refused by one is not counted by the next):
# RATELIMIT_LOGIN per client IP (above); RATELIMIT_LOGIN_USERNAME now per username *and*
# client IP, so a flood against a username from elsewhere cannot lock its owner out; and a
# much higher ceiling per username from every IP together. Shared by every process through
# the cache (Redis when REDIS_URL is set; without it, per process: run one web process).
# RATELIMIT_LOGIN_USERNAME_GLOBAL is that ceiling (default 300/h).
# Password reset POSTs (/accounts/password_reset/): RATELIMIT_PASSWORD_RESET per client IP
# (default 20/h), RATELIMIT_PASSWORD_RESET_EMAIL per submitted address (default 5/h;
# case-insensitive, whether or not an account has it, so a 429 reveals nothing).
# Only what the environment sets; the defaults are integrations/core/conf.py's.
globals().update(
    _from_env(
        env.str,
        "RATELIMIT_LOGIN_USERNAME_GLOBAL",
        "RATELIMIT_PASSWORD_RESET",
        "RATELIMIT_PASSWORD_RESET_EMAIL",
    )
)
# Static files (admin, Swagger UI) served by the app with DEBUG=0: run `manage.py collectstatic`
# (into STATIC_ROOT) at deploy time; WhiteNoise serves them with long cache lifetimes.
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1 :],
]
# Never-cache headers on every API (DRF) and JSON answer (integrations/core/middleware.py).
MIDDLEWARE = [*MIDDLEWARE, "integrations.core.middleware.NoStoreMiddleware"]
# /metrics (see METRICS_TOKEN and METRICS_ALLOWED_IPS above) is off until one of them is set;
# loopback clients are trusted only with DEBUG=1 (a same-host proxy makes everyone loopback).
# /healthz shows its checks only to staff and to requests with the metrics token.
