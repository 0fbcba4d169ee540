"""The reference project's URLs: Liaison's apps included exactly as a host project would."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from integrations.core.ratelimits import LOGIN_LIMITS, rate_limited

admin.site.site_header = "Liaison"
admin.site.site_title = "Liaison admin"
admin.site.index_title = "Integrations"

urlpatterns = [
    path("", include("integrations.ops.urls")),
    # Brute-force limits on both login forms (shared counters); before the includes they shadow.
    path("admin/login/", rate_limited(*LOGIN_LIMITS)(admin.site.login)),
    path("accounts/login/", rate_limited(*LOGIN_LIMITS)(auth_views.LoginView.as_view())),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api/", include("integrations.ops.api_urls")),
    path("api/", include("config.api_urls")),
    path("", include("oauth_accounts.urls")),
]
