"""Thin views: the admin health dashboard (wired in `admin_site`) and the index's alert list."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse

from integrations.observability.chart import line_chart
from integrations.observability.services import health_check


def health_dashboard(request: HttpRequest, *, site: AdminSite) -> TemplateResponse:
    report = health_check(sync=True)
    series = report["series"]
    chart = line_chart(
        series["hours"],
        [
            ("Webhook deliveries", "deliveries", series["webhook_deliveries"]),
            ("Verification failures", "verification", series["verification_failures"]),
            ("Outbound errors", "errors", series["outbound_errors"]),
        ],
    )
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": "Integrations health",
        "report": report,
        "chart": chart,
    }
    return TemplateResponse(request, "admin/integrations/health.html", context)


def index_alerts() -> list[dict[str, Any]]:
    return list(health_check(sync=True)["alerts"])
