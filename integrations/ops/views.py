"""Thin views: the admin health dashboard (`integrations.ops.admin`), the alert summary the
admin index can show (`{% load liaison_ops %}{% liaison_health_summary %}`), and `/healthz`."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse

from integrations.ops.chart import line_chart
from integrations.ops.services import health_check


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
    return TemplateResponse(request, "liaison_ops/health.html", context)


def index_alerts() -> list[dict[str, Any]]:
    return list(health_check(sync=True)["alerts"])
