"""Top-level URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from integrations.observability.metrics import metrics_view
from integrations.ratelimits import LOGIN_LIMITS, rate_limited
from integrations.views import healthz

admin.site.site_header = "Liaison"
admin.site.site_title = "Liaison admin"
admin.site.index_title = "Integrations"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Brute-force limits on both login forms (shared counters); before the includes they shadow.
    path("admin/login/", rate_limited(*LOGIN_LIMITS)(admin.site.login)),
    path("accounts/login/", rate_limited(*LOGIN_LIMITS)(auth_views.LoginView.as_view())),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api/", include("config.api_urls")),
    path("", include("oauth_accounts.urls")),
]
