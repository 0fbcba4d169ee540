"""The Celery application.

Configuration lives in Django settings under the `CELERY_` namespace (see config/settings.py):
JSON only, late acknowledgement with redelivery when a worker dies, eager execution when no
broker is configured, socket timeouts on the broker. Two queues: `celery` (event processing,
outbox wake-ups) and `liaison_dispatch` (the recovery sweeps: webhook re-dispatch, outbox
relay); a worker started without `-Q` consumes both.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DISPATCH_QUEUE = "liaison_dispatch"

app = Celery("liaison")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("celery"), Queue(DISPATCH_QUEUE))
# Each installed app's `tasks` module (every Liaison app is its own Django app).
app.autodiscover_tasks()
