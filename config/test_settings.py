"""Settings for the test suite: the real settings, made deterministic and fast.

The database, Redis and broker still come from the environment, so the same suite runs in the
embedded mode (SQLite, in-process state, eager tasks) and against real services
(`DATABASE_URL`, `REDIS_URL`, `CELERY_BROKER_URL`).
"""

import os
import secrets

from cryptography.fernet import Fernet

os.environ["LIAISON_READ_DOT_ENV"] = "0"
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests dispatch tasks in-process; the tests that need a real worker switch this off in the
# test process, and start the worker with LIAISON_TEST_CELERY_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("LIAISON_TEST_CELERY_EAGER", "1") != "0"
# Brute-force limits stay on but far above what the suite sends from one IP and one user;
# tests/security sets real rates with the `settings` fixture (rates are read per request).
RATELIMIT_LOGIN = RATELIMIT_LOGIN_USERNAME = RATELIMIT_CONNECT = "100000/m"
RATELIMIT_API_ANON = RATELIMIT_API_USER = "100000/m"
# Static files straight from the apps (the suite never runs collectstatic): WhiteNoise looks
# them up per request instead of indexing a STATIC_ROOT that does not exist.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The in-process dispatcher thread of the eager mode would race the suite's own transactions;
# the tests that are about it switch it back on.
WEBHOOKS_EAGER_DISPATCHER = False
# The same for the outbox relay thread: rows are performed inline after commit instead.
OUTBOX_EAGER_RELAY = False
