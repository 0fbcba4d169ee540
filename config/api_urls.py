"""The reference project's OpenAPI schema and its docs page (included under /api/).

The staff API itself comes from `integrations.ops.api_urls`; the user-facing
`/api/connections/` from `oauth_accounts.urls`; the schema covers both. The docs page is
Swagger UI from drf-spectacular-sidecar's static files; the "split" view serves its start-up
script as a separate URL, so the site's Content-Security-Policy (no inline scripts) does not
block it.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
