"""The baseline's WSGI entry point: set up exactly like config/wsgi.py (URLconf loaded, then
`gc.freeze()`), so the benchmark compares the views, not the process setup."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare_ingest.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - as config/wsgi.py
gc.freeze()
