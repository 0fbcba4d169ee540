"""The Celery application.

Configuration lives in Django settings under the `CELERY_` namespace (see config/settings.py):
JSON only, late acknowledgement with redelivery when a worker dies, eager execution when no
broker is configured.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("liaison")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each installed app's `tasks` module (every Liaison app is its own Django app).
app.autodiscover_tasks()
