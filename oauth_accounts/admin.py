"""Admin for connected accounts: status filters, "refresh now" and "revoke" actions.

Token values are never shown; only whether each is set.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from oauth_accounts import services
from oauth_accounts.exceptions import OAuthError
from oauth_accounts.models import ClientCredentialsToken, ConnectedAccount


def _set(value: object) -> str:
    return "set" if value else "not set"


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "provider",
        "display_name",
        "status",
        "expires_at",
        "last_refreshed_at",
        "failure_count",
        "access_token_state",
        "refresh_token_state",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["display_name", "uid", "user__username"]
    date_hierarchy = "connected_at"
    actions = ["refresh_now", "revoke"]
    fields = readonly_fields = (
        "user",
        "provider",
        "uid",
        "display_name",
        "email",
        "scopes",
        "status",
        "access_token_state",
        "refresh_token_state",
        "token_type",
        "expires_at",
        "refresh_token_expires_at",
        "connected_at",
        "last_refreshed_at",
        "failure_count",
        "next_refresh_attempt_at",
        "last_error",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="access token")
    def access_token_state(self, account: ConnectedAccount) -> str:
        return _set(account.access_token)

    @admin.display(description="refresh token")
    def refresh_token_state(self, account: ConnectedAccount) -> str:
        return _set(account.refresh_token)

    @admin.action(description="Refresh tokens now")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[ConnectedAccount]) -> None:
        refreshed = failed = 0
        for account_id in queryset.values_list("id", flat=True):
            try:
                services.oauth_token_refresh(account_id=account_id, force=True)
            except OAuthError:
                failed += 1
            else:
                refreshed += 1
        self.message_user(
            request,
            f"Refreshed {refreshed} account(s); {failed} failed (see their last error).",
            messages.SUCCESS if not failed else messages.WARNING,
        )

    @admin.action(description="Revoke at the provider and delete tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ConnectedAccount]) -> None:
        revoked = unconfirmed = 0
        for account in queryset:
            result = services.connected_account_revoke(account=account)
            if result.revoked:
                revoked += 1
            else:
                unconfirmed += 1
        self.message_user(
            request,
            f"Revoked {revoked} account(s) at the provider; {unconfirmed} not confirmed by the "
            "provider (their tokens were deleted anyway).",
            messages.SUCCESS if not unconfirmed else messages.WARNING,
        )


@admin.register(ClientCredentialsToken)
class ClientCredentialsTokenAdmin(admin.ModelAdmin):
    list_display = ["service", "client_id", "scope", "expires_at", "access_token_state"]
    list_filter = ["service"]
    fields = readonly_fields = (
        "service",
        "token_url",
        "client_id",
        "scope",
        "expires_at",
        "fetched_at",
        "access_token_state",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="access token")
    def access_token_state(self, row: ClientCredentialsToken) -> str:
        return _set(row.access_token)
