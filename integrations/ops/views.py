"""Thin views: the admin health dashboard (`integrations.ops.admin`), the alert summary the
admin index can show (`{% load liaison_ops %}{% liaison_health_summary %}`), and `/healthz`."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse

from integrations.ops.chart import line_chart
from integrations.ops.report import HealthAlert
from integrations.ops.services import health_check

# The outbox's admin list (`integrations.outbox` is not imported: it may not be installed).
OUTBOX_CHANGELIST = "liaison_outbox_outboxitem_changelist"


def health_dashboard(request: HttpRequest, *, site: AdminSite) -> TemplateResponse:
    report = health_check(sync=False)  # a GET reads; beat records alert changes
    series = report.series
    chart = line_chart(
        list(series.hours),
        [
            ("Webhook deliveries", "deliveries", list(series.webhook_deliveries)),
            ("Verification failures", "verification", list(series.verification_failures)),
            ("Outbound errors", "errors", list(series.outbound_errors)),
        ],
    )
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": "Integrations health",
        "report": report,
        "chart": chart,
        "outbox_url": _outbox_changelist_url(request, site),
    }
    return TemplateResponse(request, "liaison_ops/health.html", context)


def _outbox_changelist_url(request: HttpRequest, site: AdminSite) -> str | None:
    """The outbox rows in this admin site, or None when the site does not register them or
    the user may not view them (the dashboard's own permission does not open them)."""
    if not request.user.has_perm("liaison_outbox.view_outboxitem"):
        return None
    try:
        return reverse(f"{site.name}:{OUTBOX_CHANGELIST}")
    except NoReverseMatch:
        return None


def index_alerts() -> list[HealthAlert]:
    return list(health_check(sync=False).alerts)
