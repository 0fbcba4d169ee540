"""URLs of the staff API, the OpenAPI schema and its docs page (included under /api/).

The user-facing `/api/connections/` lives in `oauth_accounts.urls`; the schema covers both.
The docs page is Swagger UI from drf-spectacular-sidecar's static files; the "split" view serves
its start-up script as a separate URL, so the site's Content-Security-Policy (no inline
scripts) does not block it.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.staff_api import HealthSnapshotView
from oauth_accounts.staff_api import StaffConnectedAccountListView
from webhooks import api as webhooks_api

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("staff/health/", HealthSnapshotView.as_view(), name="staff-health"),
    path(
        "staff/webhooks/events/",
        webhooks_api.WebhookEventListView.as_view(),
        name="staff-webhook-events",
    ),
    path(
        "staff/webhooks/events/<int:pk>/",
        webhooks_api.WebhookEventDetailView.as_view(),
        name="staff-webhook-event",
    ),
    path(
        "staff/webhooks/events/<int:pk>/replay/",
        webhooks_api.WebhookEventReplayView.as_view(),
        name="staff-webhook-event-replay",
    ),
    path(
        "staff/webhooks/endpoints/",
        webhooks_api.WebhookEndpointListView.as_view(),
        name="staff-webhook-endpoints",
    ),
    path(
        "staff/accounts/",
        StaffConnectedAccountListView.as_view(),
        name="staff-accounts",
    ),
]
