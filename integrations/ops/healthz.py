"""Views of the foundation."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integrations.ops.probes import system_health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every configured backing service answers, 503 otherwise."""
    checks = system_health()
    healthy = all(result.healthy for result in checks.values())
    body = {
        "status": "ok" if healthy else "error",
        "checks": {
            name: {"status": result.status, "detail": result.detail}
            for name, result in checks.items()
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)
