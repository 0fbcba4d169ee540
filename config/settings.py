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
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if os.environ.get("LIAISON_READ_DOT_ENV", "1") != "0" and (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and shared state ------------------------------------------------------------------

# REDIS_URL holds state every process must share (circuit breakers, rate limiters, locks).
# Unset: in-process state, fine for one process (the embedded default).
REDIS_URL: str = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "liaison",
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
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
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

# Scheme and host providers post to, e.g. https://hooks.example.com (Twilio signs the full
# URL; the admin shows it). Empty: built from the request (Django's proxy settings apply).
WEBHOOKS_PUBLIC_BASE_URL: str = env.str("WEBHOOKS_PUBLIC_BASE_URL", default="")
# Seconds between failed attempts; past the last one an event is dead (≈ 3 days in all).
WEBHOOKS_RETRY_SCHEDULE: list[int] = [
    int(v)
    for v in env.list(
        "WEBHOOKS_RETRY_SCHEDULE",
        default=["60", "300", "1800", "7200", "21600", "43200", "86400", "86400"],
    )
]
# A claimed event still `processing` after this many seconds is stuck (its worker died).
WEBHOOKS_PROCESSING_LEASE_SECONDS = env.int("WEBHOOKS_PROCESSING_LEASE_SECONDS", default=900)
# A `pending` event older than this is re-enqueued (its enqueue was lost).
WEBHOOKS_PENDING_GRACE_SECONDS = env.int("WEBHOOKS_PENDING_GRACE_SECONDS", default=300)
WEBHOOKS_DISPATCH_INTERVAL_SECONDS = env.int("WEBHOOKS_DISPATCH_INTERVAL_SECONDS", default=60)
WEBHOOKS_DISPATCH_BATCH_SIZE = env.int("WEBHOOKS_DISPATCH_BATCH_SIZE", default=500)
WEBHOOKS_ENDPOINT_CACHE_SECONDS = env.int("WEBHOOKS_ENDPOINT_CACHE_SECONDS", default=300)
# Each process also keeps its own copy this long (other processes see a change this late).
WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS = env.float(
    "WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS", default=5.0
)
WEBHOOKS_VERIFICATION_FAILURES_KEPT = env.int("WEBHOOKS_VERIFICATION_FAILURES_KEPT", default=50)
CELERY_BEAT_SCHEDULE["webhooks-dispatch-due"] = {
    "task": "webhooks.tasks.webhook_events_dispatch_due_task",
    "schedule": float(WEBHOOKS_DISPATCH_INTERVAL_SECONDS),
}

# --- payments and email (Stripe, SendGrid) ---------------------------------------------------

# Unset: every Stripe call fails with "STRIPE_SECRET_KEY not set" (nothing is attempted).
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
# Pinned: the version this code reads and writes (see integrations/payments/conf.py, README).
STRIPE_API_VERSION: str = env.str("STRIPE_API_VERSION", default="2026-10-28.endive")
# The SDK's own retries (with the call's idempotency key); StripeClient makes none by default.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_CONNECT_TIMEOUT = env.float("STRIPE_CONNECT_TIMEOUT", default=5.0)
STRIPE_READ_TIMEOUT = env.float("STRIPE_READ_TIMEOUT", default=30.0)
# Confirmation / failure emails from the payment_intent webhooks.
PAYMENTS_SEND_EMAILS = env.bool("PAYMENTS_SEND_EMAILS", default=True)
# Unset: messages are recorded and printed to the console; nothing leaves the machine.
SENDGRID_API_KEY: str = env.str("SENDGRID_API_KEY", default="")
# SendGrid validates but does not deliver (staging).
SENDGRID_SANDBOX_MODE = env.bool("SENDGRID_SANDBOX_MODE", default=False)
# Celery retries of a queued message whose send failed transiently.
SENDGRID_SEND_MAX_RETRIES = env.int("SENDGRID_SEND_MAX_RETRIES", default=5)
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="Liaison <noreply@localhost>")
SERVER_EMAIL: str = env.str("SERVER_EMAIL", default="") or DEFAULT_FROM_EMAIL
EMAIL_BACKEND: str = env.str("EMAIL_BACKEND", default="integrations.email.backend.SendGridBackend")

# --- outbound HTTP: retries, circuit breakers, rate limiters (integrations.outbound) ---------

# Per-service overrides and additions, as JSON: {"service": {"option": value}}. Built in:
# stripe, sendgrid, google, github, oidc. A service not built in must be declared here (an
# empty {} gives it the defaults and absolute https URLs only). Options: base_url,
# connect_timeout, read_timeout, retries, backoff_base, backoff_cap, retry_after_max,
# idempotency_header, request_id_headers, breaker_fail_max, breaker_reset_timeout,
# breaker_success_threshold, breaker_window, breaker_min_calls, breaker_failure_rate,
# limiter_capacity, limiter_refill_rate, limiter_max_wait (see integrations/resilience/config.py).
INTEGRATIONS_SERVICES: dict[str, dict[str, object]] = env.json("INTEGRATIONS_SERVICES", default={})
# The same options as defaults for every service (below the built-in per-service values).
INTEGRATIONS_HTTP_DEFAULTS: dict[str, object] = env.json("INTEGRATIONS_HTTP_DEFAULTS", default={})
# Prefix of the Redis keys holding breaker, limiter and metrics state.
INTEGRATIONS_STATE_PREFIX = env.str("INTEGRATIONS_STATE_PREFIX", default="liaison:integrations")
# How far back integrations.outbound.health.snapshot() looks, in seconds (whole minutes).
INTEGRATIONS_METRICS_WINDOW_SECONDS = env.int("INTEGRATIONS_METRICS_WINDOW_SECONDS", default=900)
# After Redis failed, seconds of in-process breaker/limiter state before trying Redis again.
INTEGRATIONS_REDIS_RETRY_SECONDS = env.float("INTEGRATIONS_REDIS_RETRY_SECONDS", default=10.0)
# Every console log line goes through the credential-redacting filter.
LOGGING.setdefault("filters", {})["redact_secrets"] = {  # type: ignore[index]
    "()": "integrations.core.redaction.RedactingFilter"
}
LOGGING["handlers"]["console"].setdefault("filters", []).append("redact_secrets")  # type: ignore[index]

# --- OAuth account linking (oauth_accounts) --------------------------------------------------

# A provider is enabled when its client id and secret are set (OIDC also needs the issuer).
# Callback URL to register at each provider: <site>/oauth/complete/<google|github|oidc>/
# (`manage.py oauth_providers` prints them).
OAUTH_GOOGLE_CLIENT_ID: str = env.str("OAUTH_GOOGLE_CLIENT_ID", default="")
OAUTH_GOOGLE_CLIENT_SECRET: str = env.str("OAUTH_GOOGLE_CLIENT_SECRET", default="")
OAUTH_GOOGLE_SCOPES: list[str] = env.list("OAUTH_GOOGLE_SCOPES", default=[])
OAUTH_GITHUB_CLIENT_ID: str = env.str("OAUTH_GITHUB_CLIENT_ID", default="")
OAUTH_GITHUB_CLIENT_SECRET: str = env.str("OAUTH_GITHUB_CLIENT_SECRET", default="")
OAUTH_GITHUB_SCOPES: list[str] = env.list(
    "OAUTH_GITHUB_SCOPES", default=["read:user", "user:email"]
)
OAUTH_OIDC_ISSUER: str = env.str("OAUTH_OIDC_ISSUER", default="")
OAUTH_OIDC_CLIENT_ID: str = env.str("OAUTH_OIDC_CLIENT_ID", default="")
OAUTH_OIDC_CLIENT_SECRET: str = env.str("OAUTH_OIDC_CLIENT_SECRET", default="")
OAUTH_OIDC_SCOPES: list[str] = env.list("OAUTH_OIDC_SCOPES", default=["openid", "profile", "email"])
OAUTH_OIDC_TITLE: str = env.str("OAUTH_OIDC_TITLE", default="OpenID Connect")
OAUTH_REFRESH_MARGIN_SECONDS = env.int("OAUTH_REFRESH_MARGIN_SECONDS", default=300)
OAUTH_IDLE_REFRESH_DAYS = env.int("OAUTH_IDLE_REFRESH_DAYS", default=30)
OAUTH_REFRESH_MAX_FAILURES = env.int("OAUTH_REFRESH_MAX_FAILURES", default=5)
OAUTH_REFRESH_BACKOFF_SECONDS = env.int("OAUTH_REFRESH_BACKOFF_SECONDS", default=60)
OAUTH_REFRESH_BACKOFF_CAP_SECONDS = env.int("OAUTH_REFRESH_BACKOFF_CAP_SECONDS", default=21_600)
OAUTH_LOGIN_WITH_PROVIDER = env.bool("OAUTH_LOGIN_WITH_PROVIDER", default=False)
OAUTH_PUBLIC_BASE_URL: str = env.str("OAUTH_PUBLIC_BASE_URL", default="")
OAUTH_REFRESH_EVERY_MINUTES = env.int("OAUTH_REFRESH_EVERY_MINUTES", default=5)

AUTHENTICATION_BACKENDS = [
    *AUTHENTICATION_BACKENDS,
    "oauth_accounts.backends.google.GoogleBackend",
    "oauth_accounts.backends.github.GitHubBackend",
    "oauth_accounts.backends.oidc.OIDCBackend",
]
SOCIAL_AUTH_URL_NAMESPACE = "liaison_oauth"
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "oauth_accounts.pipeline.require_user",
    "social_core.pipeline.social_auth.associate_user",
    "oauth_accounts.pipeline.store_tokens",
)
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/connections/"
SOCIAL_AUTH_NEW_ASSOCIATION_REDIRECT_URL = "/connections/"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/connections/"
SOCIAL_AUTH_SANITIZE_REDIRECTS = True
SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS: list[str] = []
SOCIAL_AUTH_REDIRECT_IS_HTTPS = env.bool("SOCIAL_AUTH_REDIRECT_IS_HTTPS", default=False)
CELERY_BEAT_SCHEDULE["oauth-accounts-refresh-due-tokens"] = {
    "task": "oauth_accounts.refresh_due_tokens",
    "schedule": OAUTH_REFRESH_EVERY_MINUTES * 60.0,
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
# rather than failing every request (integrations/ratelimits.py).
# Login POSTs (/accounts/login/ and /admin/login/ share the counters): per client IP, and per
# submitted username whatever the IP.
RATELIMIT_LOGIN: str = env.str("RATELIMIT_LOGIN", default="10/m")
RATELIMIT_LOGIN_USERNAME: str = env.str("RATELIMIT_LOGIN_USERNAME", default="30/h")
# Starting an OAuth connection (POST /oauth/login/<provider>/), per user (or IP).
RATELIMIT_CONNECT: str = env.str("RATELIMIT_CONNECT", default="20/m")
# The API (DRF throttles): anonymous requests per IP, authenticated requests per user.
RATELIMIT_API_ANON: str = env.str("RATELIMIT_API_ANON", default="60/m")
RATELIMIT_API_USER: str = env.str("RATELIMIT_API_USER", default="600/m")
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

# Alert thresholds (dashboard, admin index, `manage.py integrations_health`, /metrics).
ALERT_OUTBOUND_ERROR_RATE = env.float("ALERT_OUTBOUND_ERROR_RATE", default=0.05)
ALERT_OUTBOUND_MIN_ATTEMPTS = env.int("ALERT_OUTBOUND_MIN_ATTEMPTS", default=20)
ALERT_VERIFICATION_FAILURES_PER_HOUR = env.int("ALERT_VERIFICATION_FAILURES_PER_HOUR", default=10)
ALERT_OAUTH_REFRESH_FAILURES = env.int("ALERT_OAUTH_REFRESH_FAILURES", default=1)
ALERT_OAUTH_RECONNECT_WINDOW_HOURS = env.int("ALERT_OAUTH_RECONNECT_WINDOW_HOURS", default=24)
ALERT_WEBHOOK_LAG_SECONDS = env.int("ALERT_WEBHOOK_LAG_SECONDS", default=300)
ALERT_WEBHOOK_DEAD_EVENTS = env.int("ALERT_WEBHOOK_DEAD_EVENTS", default=1)
# E-mail ADMINS (through EMAIL_BACKEND, i.e. SendGrid) on every alert raised or cleared.
ALERT_EMAIL_ADMINS = env.bool("ALERT_EMAIL_ADMINS", default=False)
ADMINS: list[tuple[str, str]] = [("", address) for address in env.list("ADMINS", default=[])]
ALERTS_CHECK_INTERVAL_SECONDS = env.int("ALERTS_CHECK_INTERVAL_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["integrations-health-check"] = {
    "task": "integrations.ops.health_check",
    "schedule": float(ALERTS_CHECK_INTERVAL_SECONDS),
}
# /metrics: allowed with "Authorization: Bearer <METRICS_TOKEN>" or from METRICS_ALLOWED_IPS
# (addresses or CIDR networks); with neither set, loopback clients only.
METRICS_TOKEN: str = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS: list[str] = env.list("METRICS_ALLOWED_IPS", default=[])
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
