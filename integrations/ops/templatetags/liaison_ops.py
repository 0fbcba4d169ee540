"""`{% liaison_health_summary %}`: the active alerts and a link to the dashboard, for a host's
`admin/index.html` (the reference project's `templates/admin/index.html` shows how).

Renders nothing for a user without `liaison_ops.view_health`, or where the current admin site
has no dashboard registered.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from integrations.ops.views import index_alerts

register = template.Library()


@register.inclusion_tag("liaison_ops/health_summary.html", takes_context=True)
def liaison_health_summary(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("liaison_ops.view_health"):
        return {"show": False}
    namespace = getattr(getattr(request, "resolver_match", None), "namespace", "") or "admin"
    try:
        url = reverse(f"{namespace}:liaison_ops_health_changelist")
    except NoReverseMatch:
        return {"show": False}
    return {"show": True, "alerts": index_alerts(), "dashboard_url": url}
