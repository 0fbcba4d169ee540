"""WSGI entry point (gunicorn config.wsgi).

After loading the project (apps, then the URLconf with every view module it imports), the
objects that live as long as the process move out of the garbage collector's reach
(`gc.freeze()`, as Python's documentation suggests for pre-forked servers): every collection
would otherwise walk them again. With Django, DRF, Celery and the SDKs that is ~130,000
objects; bench/webhook_ingest.py measured 0.02-0.04 ms of CPU less per delivery. The
baseline of that benchmark (bench/bare_ingest/wsgi.py) does the same.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - import every view module now, before the freeze
gc.freeze()
