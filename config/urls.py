"""Top-level URLs."""

from django.contrib import admin
from django.urls import path

from integrations.views import healthz

admin.site.site_header = "Liaison"
admin.site.site_title = "Liaison admin"
admin.site.index_title = "Integrations"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
