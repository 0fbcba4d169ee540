"""The staff API (URL namespace `liaison_api`): include once, e.g. at `api/`.

`staff/health/` is served here; every other Liaison app adds its staff endpoints under
`staff/<prefix>` through `integrations.ops.registry.staff_urls_register()` in its `ready()`, so
one `include("integrations.ops.api_urls")` serves the staff API of whichever apps are
installed.
"""

from django.urls import URLPattern, URLResolver, include, path

from integrations.ops.api import HealthSnapshotView
from integrations.ops.registry import staff_urls

app_name = "liaison_api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("staff/health/", HealthSnapshotView.as_view(), name="staff-health"),
    *(path(f"staff/{prefix}", include(module)) for prefix, module in staff_urls().items()),
]
