"""`NoStoreMiddleware`: API and JSON answers are never kept by browsers or shared caches.

Staff API answers carry payloads, headers and personal data; a shared proxy or the browser's
disk cache must not keep them after the session ends. Every Django REST framework response
(the API, its schema and docs pages, wherever a host mounts them) and every JSON response
(the admin's autocomplete and other JSON views) gets Django's never-cache headers
(`Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private`). A response that
already says `no-store` is left as it is.

Add it to MIDDLEWARE (anywhere): `"integrations.core.middleware.NoStoreMiddleware"`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers
from rest_framework.response import Response as ApiResponse

_JSON_TYPES = ("application/json", "application/problem+json", "application/vnd.oai.openapi")


def _is_api_or_json(response: HttpResponseBase) -> bool:
    if isinstance(response, ApiResponse):
        return True
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type.startswith(_JSON_TYPES) or content_type.endswith("+json")


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if _is_api_or_json(response) and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
