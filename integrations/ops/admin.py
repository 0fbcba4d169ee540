"""The health dashboard as an admin page of whichever `AdminSite` registers it.

Registered on Django's default `admin.site` (autodiscovered like any `admin.py`); a host with a
custom site registers it there too: `my_site.register(Health, HealthDashboardAdmin)`.
Viewing needs `liaison_ops.view_health` (superusers have it); nothing on the page changes
state, so no other permission exists.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from integrations.ops.models import Health
from integrations.ops.views import health_dashboard


@admin.register(Health)
class HealthDashboardAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.dashboard_view)
        return [
            path("", view, name="liaison_ops_health_changelist"),
        ]

    def dashboard_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return health_dashboard(request, site=self.admin_site)
