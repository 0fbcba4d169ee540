"""django-oauth-toolkit under /o/, a login page, and discovery that also names the RFC 7009
revocation endpoint (DOT serves the endpoint but leaves it out of the OIDC document)."""

import json
from typing import Any

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, reverse
from oauth2_provider.views import ConnectDiscoveryInfoView


class DiscoveryWithRevocation(ConnectDiscoveryInfoView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        document = json.loads(super().get(request, *args, **kwargs).content)
        document["revocation_endpoint"] = request.build_absolute_uri(
            reverse("oauth2_provider:revoke-token")
        )
        return JsonResponse(document)


urlpatterns = [
    path("o/.well-known/openid-configuration", DiscoveryWithRevocation.as_view()),
    path("o/", include("oauth2_provider.urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),
]
