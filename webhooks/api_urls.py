"""Staff API endpoints of the webhook log, included by `integrations.ops.api_urls` under
`staff/webhooks/` (registered in `webhooks.health.register`)."""

from django.urls import path

from webhooks import api

urlpatterns = [
    path("events/", api.WebhookEventListView.as_view(), name="staff-webhook-events"),
    path("events/<int:pk>/", api.WebhookEventDetailView.as_view(), name="staff-webhook-event"),
    path(
        "events/<int:pk>/replay/",
        api.WebhookEventReplayView.as_view(),
        name="staff-webhook-event-replay",
    ),
    path("endpoints/", api.WebhookEndpointListView.as_view(), name="staff-webhook-endpoints"),
]
