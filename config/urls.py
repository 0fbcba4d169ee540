"""Top-level URLs."""

from django.contrib import admin
from django.urls import include, path

from integrations.views import healthz

admin.site.site_header = "Liaison"
admin.site.site_title = "Liaison admin"
admin.site.index_title = "Integrations"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("oauth_accounts.urls")),
]
