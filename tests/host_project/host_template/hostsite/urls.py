"""The host's URLs: its own pages plus Liaison's includes."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("integrations.ops.urls")),  # /healthz, /metrics
    path("webhooks/", include("webhooks.urls")),  # POST /webhooks/<slug>/
    path("api/", include("integrations.ops.api_urls")),  # staff API (namespace liaison_api)
    path("", include("oauth_accounts.urls")),  # /connections/, /oauth/… (liaison_oauth)
]
