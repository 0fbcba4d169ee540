"""The Celery application.

Configuration lives in Django settings under the `CELERY_` namespace (see config/settings.py):
JSON only, late acknowledgement with redelivery when a worker dies, eager execution when no
broker is configured, socket timeouts on the broker. Two queues: `celery` (event processing,
outbox wake-ups) and `liaison_dispatch` (the recovery sweeps: webhook re-dispatch, outbox
relay); a worker started without `-Q` consumes both.
"""

import gc
import os

from celery import Celery
from celery.signals import worker_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DISPATCH_QUEUE = "liaison_dispatch"

app = Celery("liaison")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("celery"), Queue(DISPATCH_QUEUE))
# Each installed app's `tasks` module (every Liaison app is its own Django app).
app.autodiscover_tasks()


@worker_init.connect
def _freeze_loaded_objects(**kwargs: object) -> None:
    """Once the worker has loaded Django and the task modules (Celery's loader imports them
    before this signal), and before a prefork pool forks its children: what lives as long as
    the process leaves the garbage collector's reach (`gc.freeze()`, as config/wsgi.py does
    for the web processes)."""
    gc.freeze()
