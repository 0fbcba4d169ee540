"""Admin for connected accounts: status filters, "refresh now" and "revoke" actions.

Token values are never shown; only whether each is set. "Refresh now" needs
`liaison_oauth.change_connectedaccount`, "revoke" `liaison_oauth.revoke_connectedaccount`; both
confirm first (`integrations.core.admin_actions.confirmed_action`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from integrations.core.admin_actions import (
    ActionOutcome,
    GuardedActionsMixin,
    confirmed_action,
    has_model_permission,
)
from oauth_accounts import services
from oauth_accounts.exceptions import OAuthError
from oauth_accounts.models import ClientCredentialsToken, ConnectedAccount


def _set(value: object) -> str:
    return "set" if value else "not set"


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(GuardedActionsMixin, admin.ModelAdmin):
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

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "revoke")

    @admin.action(description="Refresh tokens now", permissions=["change"])
    def refresh_now(
        self, request: HttpRequest, queryset: QuerySet[ConnectedAccount]
    ) -> HttpResponse | None:
        def perform(accounts: Sequence[ConnectedAccount]) -> ActionOutcome:
            refreshed = failed = 0
            for account in accounts:
                try:
                    services.oauth_token_refresh(account_id=account.pk, force=True)
                except OAuthError:
                    failed += 1
                else:
                    refreshed += 1
            return ActionOutcome(
                changed=refreshed,
                note=f"{failed} failed (see their last error).",
                level=messages.SUCCESS if not failed else messages.WARNING,
            )

        return confirmed_action(
            self,
            request,
            action="refresh_now",
            permission="change",
            title="Refresh the tokens of these accounts now?",
            consequence="Each account's tokens are refreshed at its provider, due or not.",
            rows=list(queryset),
            perform=perform,
            done="Refreshed {count} account(s);",
        )

    @admin.action(description="Revoke at the provider and delete tokens", permissions=["revoke"])
    def revoke(
        self, request: HttpRequest, queryset: QuerySet[ConnectedAccount]
    ) -> HttpResponse | None:
        def perform(accounts: Sequence[ConnectedAccount]) -> ActionOutcome:
            revoked = unconfirmed = 0
            for account in accounts:
                result = services.oauth_account_revoke(account=account)
                if result.revoked:
                    revoked += 1
                else:
                    unconfirmed += 1
            return ActionOutcome(
                changed=revoked + unconfirmed,
                note=(
                    f"Revoked {revoked} account(s) at the provider; {unconfirmed} not confirmed "
                    "by the provider (their tokens were deleted anyway)."
                ),
                level=messages.SUCCESS if not unconfirmed else messages.WARNING,
            )

        return confirmed_action(
            self,
            request,
            action="revoke",
            permission="revoke",
            title="Revoke these connected accounts?",
            consequence=(
                "Each account's tokens are revoked at the provider and deleted here; its user "
                "has to connect again. This cannot be undone."
            ),
            rows=list(queryset),
            perform=perform,
            done="Disconnected {count} account(s).",
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
