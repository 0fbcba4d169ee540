"""Staff API endpoints of connected accounts, included by `integrations.ops.api_urls` under
`staff/accounts/` (registered in `oauth_accounts.health.register`)."""

from django.urls import path

from oauth_accounts.staff_api import StaffConnectedAccountListView

urlpatterns = [
    path("", StaffConnectedAccountListView.as_view(), name="staff-accounts"),
]
