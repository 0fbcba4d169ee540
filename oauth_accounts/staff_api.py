"""Staff API: every user's connected accounts (read only). Tokens are never serialised.

The serializer lists its fields explicitly; an account says whether it holds an access and a
refresh token, never what they are. Staff only, with `liaison_oauth.view_connectedaccount`
(see `integrations.core.api`): the fields the admin shows that user for the same accounts.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from integrations.core.api import StaffAccess, StaffPagination
from oauth_accounts import selectors
from oauth_accounts.backends import PROVIDERS
from oauth_accounts.models import ConnectedAccount


class ConnectedAccountFilterSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=[], required=False)
    status = serializers.ChoiceField(choices=ConnectedAccount.Status.choices, required=False)
    user = serializers.CharField(required=False, max_length=150, help_text="Exact username.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = sorted(PROVIDERS)


class StaffConnectedAccountSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    provider_title = serializers.SerializerMethodField()
    token_status = serializers.SerializerMethodField(
        help_text="active / expiring / needs_reconnect / revoked, as the user sees it."
    )
    has_access_token = serializers.BooleanField(read_only=True)
    has_refresh_token = serializers.BooleanField(read_only=True)

    class Meta:
        model = ConnectedAccount
        fields = [
            "id",
            "user",
            "provider",
            "provider_title",
            "uid",
            "display_name",
            "email",
            "scopes",
            "status",
            "token_status",
            "has_access_token",
            "has_refresh_token",
            "token_type",
            "expires_at",
            "refresh_token_expires_at",
            "connected_at",
            "last_refreshed_at",
            "failure_count",
            "next_refresh_attempt_at",
            "last_error",
        ]
        read_only_fields = fields

    def get_provider_title(self, account: ConnectedAccount) -> str:
        return selectors.provider_title(account.provider)

    def get_token_status(self, account: ConnectedAccount) -> str:
        return selectors.account_display_status(account)


def connected_accounts_filtered(*, filters: dict[str, Any]) -> QuerySet[ConnectedAccount]:
    accounts = ConnectedAccount.objects.select_related("user").order_by("provider", "id")
    if filters.get("provider"):
        accounts = accounts.filter(provider=filters["provider"])
    if filters.get("status"):
        accounts = accounts.filter(status=filters["status"])
    if filters.get("user"):
        accounts = accounts.filter(user__username=filters["user"])
    return accounts


def connected_account_counts() -> dict[str, dict[str, int]]:
    """{provider: {status: count}} of the accounts that exist."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        ConnectedAccount.objects.order_by()
        .values("provider", "status")
        .annotate(count=Count("id"))
        .values_list("provider", "status", "count")
    )
    for provider, status, count in rows:
        counts.setdefault(provider, dict.fromkeys(ConnectedAccount.Status.values, 0))[status] = (
            count
        )
    return counts


@extend_schema(parameters=[ConnectedAccountFilterSerializer])
class StaffConnectedAccountListView(StaffAccess, generics.ListAPIView):
    """GET /api/staff/accounts/: every user's connected accounts (never a token)."""

    serializer_class = StaffConnectedAccountSerializer
    pagination_class = StaffPagination
    read_permissions = ("liaison_oauth.view_connectedaccount",)

    def get_queryset(self) -> QuerySet[ConnectedAccount]:
        filters = ConnectedAccountFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return connected_accounts_filtered(filters=filters.validated_data)
