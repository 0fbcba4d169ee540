"""The admin site with the health dashboard (`/admin/health/`, URL name
`admin:integrations_health`) and the active alerts on its index page.

Installed as the default admin site through `LiaisonAdminConfig` in INSTALLED_APPS (Django's
documented way to override the default site), so every `@admin.register` keeps working.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path


class LiaisonAdminSite(admin.AdminSite):
    index_template = "admin/integrations/index.html"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from integrations.observability.views import health_dashboard

        def dashboard(request: HttpRequest) -> TemplateResponse:
            return health_dashboard(request, site=self)

        return [
            path("health/", self.admin_view(dashboard), name="integrations_health"),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from integrations.observability.views import index_alerts

        context = {"integrations_alerts": index_alerts(), **(extra_context or {})}
        return super().index(request, extra_context=context)


class LiaisonAdminConfig(AdminConfig):
    default_site = "integrations.observability.admin_site.LiaisonAdminSite"
