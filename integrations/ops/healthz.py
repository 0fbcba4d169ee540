"""`GET /healthz`: up or down for anyone, the checks behind it for staff and scrapers.

Anonymous callers (load balancers, uptime monitors) get only `{"status": "ok"|"error"}` with
200 or 503: which database vendor runs here and which services are configured is nobody
else's business. A signed-in staff user, or a request with the metrics token
(`Authorization: Bearer <METRICS_TOKEN>`, see `integrations.ops.metrics`), also gets `checks`.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integrations.ops.metrics import has_metrics_token
from integrations.ops.probes import system_health


def may_see_health_details(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff) or has_metrics_token(request)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every configured backing service answers, 503 otherwise."""
    health = system_health()
    body = health.as_dict(details=may_see_health_details(request))
    return JsonResponse(body, status=200 if health.healthy else 503)
