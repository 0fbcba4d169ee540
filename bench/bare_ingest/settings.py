"""The baseline for bench/webhook_ingest.py: the least a Django webhook view can do.

No apps, no middleware: verify with the `stripe` SDK, insert the raw body into one table.
The database settings mirror Liaison's (persistent connections with health checks).
"""

import os

import environ

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare_ingest.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES = {"default": environ.Env().db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
USE_TZ = True
BARE_STRIPE_SECRET = os.environ.get("BARE_STRIPE_SECRET", "")
