"""DRF API for the logged-in user's own connections. Tokens are never serialised."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from oauth_accounts import selectors, services
from oauth_accounts.models import ConnectedAccount


class ConnectedAccountSerializer(serializers.ModelSerializer):
    provider_title = serializers.SerializerMethodField()
    token_status = serializers.SerializerMethodField()

    class Meta:
        model = ConnectedAccount
        fields = [
            "id",
            "provider",
            "provider_title",
            "display_name",
            "email",
            "scopes",
            "token_status",
            "connected_at",
            "expires_at",
            "last_refreshed_at",
        ]
        read_only_fields = fields

    def get_provider_title(self, account: ConnectedAccount) -> str:
        return selectors.provider_title(account.provider)

    def get_token_status(self, account: ConnectedAccount) -> str:
        return selectors.account_display_status(account)


class _OwnAccountsMixin:
    request: Request
    serializer_class = ConnectedAccountSerializer

    def get_queryset(self) -> QuerySet[ConnectedAccount]:
        return selectors.connected_accounts_for_user(self.request.user)


class ConnectionListView(_OwnAccountsMixin, generics.ListAPIView):
    """GET /api/connections/: the current user's connected accounts."""


class ConnectionDetailView(_OwnAccountsMixin, generics.RetrieveDestroyAPIView):
    """GET / DELETE /api/connections/<id>/: DELETE revokes at the provider, then deletes.

    Another user's account answers 404 (it does not exist for this user).
    """

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        result = services.oauth_account_disconnect(account=account)
        return Response(
            {"disconnected": True, "revoked": result.revoked, "revoke_error": result.error},
            status=status.HTTP_200_OK,
        )
