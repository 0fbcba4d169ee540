"""Read operations: what the pages, API, admin and commands show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from oauth_accounts import conf
from oauth_accounts.backends import PROVIDERS, enabled_providers
from oauth_accounts.models import ConnectedAccount

# A refresh token this close to its own expiry (GitHub Apps: 6 months) shows as "expiring".
REFRESH_TOKEN_WARNING = timedelta(days=7)
# A token is refreshed once less than this share of its lifetime is left (or the margin,
# whichever is shorter): a 300-second token is good for 150 s after each refresh even with the
# default 300-second margin, instead of being "due" the moment it arrives. The client
# credentials cache uses the same rule.
REFRESH_AT_LIFETIME_FRACTION = 0.5


def oauth_token_refresh_threshold(account: ConnectedAccount) -> timedelta:
    """How long before expiry the access token of `account` counts as due for refresh:
    `min(OAUTH_REFRESH_MARGIN_SECONDS, half of its lifetime)`, the lifetime being the time
    from its issue (last refresh, or connection) to its expiry."""
    margin = conf.refresh_margin()
    issued = account.last_refreshed_at or account.connected_at
    if account.expires_at is None or issued is None:
        return margin
    lifetime = account.expires_at - issued
    if lifetime <= timedelta(0):
        return margin
    return min(margin, lifetime * REFRESH_AT_LIFETIME_FRACTION)


def oauth_token_is_fresh(account: ConnectedAccount, *, now: datetime, within: timedelta) -> bool:
    """An access token that stays valid for longer than `within` from `now`."""
    return bool(account.access_token) and (
        account.expires_at is None or account.expires_at > now + within
    )


@dataclass(frozen=True)
class ProviderInfo:
    id: str
    title: str
    callback_path: str
    connect_path: str
    credential_settings: tuple[str, ...]


def provider_infos(*, enabled_only: bool = True) -> list[ProviderInfo]:
    classes = enabled_providers() if enabled_only else list(PROVIDERS.values())
    return [
        ProviderInfo(
            id=cls.name,
            title=cls.display_title(),
            callback_path=reverse("liaison_oauth:complete", args=[cls.name]),
            connect_path=reverse("liaison_oauth:begin", args=[cls.name]),
            credential_settings=tuple(cls.credential_settings),
        )
        for cls in classes
    ]


def provider_title(provider: str) -> str:
    cls = PROVIDERS.get(provider)
    return cls.display_title() if cls is not None else provider


def callback_url(provider: str, *, request: HttpRequest | None = None) -> str:
    """The exact redirect URI to register in the provider's console."""
    path = reverse("liaison_oauth:complete", args=[provider])
    if request is not None:
        return request.build_absolute_uri(path)
    base = conf.public_base_url()
    return f"{base}{path}" if base else path


def connected_accounts_for_user(user: Any) -> QuerySet[ConnectedAccount]:
    return ConnectedAccount.objects.filter(user=user).order_by("provider", "connected_at")


def linked_without_refresh_token(account: ConnectedAccount) -> bool:
    """The access token expires and there is no refresh token to renew it: the connection dies
    at expiry unless the user reconnects (a spec-strict provider asked without offline access
    and `prompt=consent`, or Google re-using a grant it issued elsewhere)."""
    return not account.refresh_token and account.expires_at is not None


def account_display_status(account: ConnectedAccount, *, now: datetime | None = None) -> str:
    """active / expiring / needs_reconnect / revoked, as shown to the user.

    "expiring": the token will stop working and cannot be renewed without the user — an
    access token that expires with no refresh token to renew it (however far its expiry is),
    or a refresh token that itself expires within a week. Never "active" for a connection that
    is known to die at expiry.
    """
    if account.status != ConnectedAccount.Status.ACTIVE:
        return str(account.status)
    now = now or timezone.now()
    if account.refresh_token:
        expires = account.refresh_token_expires_at
        if expires is not None and expires <= now + REFRESH_TOKEN_WARNING:
            return "expiring"
        return "active"
    if account.expires_at is not None:
        return "needs_reconnect" if account.expires_at <= now else "expiring"
    return "active"


STATUS_LABELS = {
    "active": "Active",
    "expiring": "Expiring",
    "needs_reconnect": "Needs reconnect",
    "revoked": "Revoked",
}
