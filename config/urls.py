"""The reference project's URLs: Liaison's apps included exactly as a host project would."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from integrations.core.ratelimits import LOGIN_LIMITS, PASSWORD_RESET_LIMITS, rate_limited

admin.site.site_header = "Liaison"
admin.site.site_title = "Liaison admin"
admin.site.index_title = "Integrations"

urlpatterns = [
    # First: the busiest URL of the project (providers' deliveries) is matched before the rest.
    path("webhooks/", include("webhooks.urls")),
    path("", include("integrations.ops.urls")),
    # Brute-force limits on both login forms (shared counters); before the includes they shadow.
    path("admin/login/", rate_limited(*LOGIN_LIMITS)(admin.site.login)),
    path("accounts/login/", rate_limited(*LOGIN_LIMITS)(auth_views.LoginView.as_view())),
    # Per client and per address, counted before the form looks the address up (issue 18).
    path(
        "accounts/password_reset/",
        rate_limited(*PASSWORD_RESET_LIMITS)(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("integrations.ops.api_urls")),
    path("api/", include("config.api_urls")),
    path("", include("oauth_accounts.urls")),
]
