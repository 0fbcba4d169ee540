"""`healthz` (liveness of the backing services) and `metrics` (Prometheus), usually included at
the site root: `path("", include("integrations.ops.urls"))`."""

from django.urls import path

from integrations.ops.healthz import healthz
from integrations.ops.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
