"""Factories for oauth_accounts tests (plain functions; no factory library needed)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from social_django.models import UserSocialAuth

from oauth_accounts.models import ConnectedAccount

# Sentinel: make a fresh fake refresh token.
GENERATE = "<generate>"

# The identifier social-core keys each provider's uid by (UserSocialAuth.id_key).
ID_KEYS = {"google": "sub", "github": "id", "oidc": "sub"}


def make_user(username: str | None = None, **kwargs: Any) -> Any:
    username = username or f"user-{secrets.token_hex(4)}"
    return get_user_model().objects.create_user(username=username, password=None, **kwargs)


def fake_token(prefix: str) -> str:
    """An obviously fake, unique token value generated at run time."""
    return f"{prefix}-{secrets.token_urlsafe(16)}"


def make_account(
    *,
    user: Any = None,
    provider: str = "oidc",
    uid: str | None = None,
    access_token: str | None = None,
    refresh_token: str | None = GENERATE,
    expires_in: timedelta | None = timedelta(hours=1),
    status: str = ConnectedAccount.Status.ACTIVE,
    **fields: Any,
) -> ConnectedAccount:
    user = user or make_user()
    uid = uid or f"uid-{secrets.token_hex(6)}"
    social = UserSocialAuth.objects.create(
        user=user, provider=provider, uid=uid, id_key=ID_KEYS[provider], extra_data={}
    )
    now = timezone.now()
    return ConnectedAccount.objects.create(
        user=user,
        social_auth=social,
        provider=provider,
        uid=uid,
        display_name=fields.pop("display_name", "Test Account"),
        access_token=access_token or fake_token("access"),
        refresh_token=fake_token("refresh") if refresh_token is GENERATE else refresh_token,
        expires_at=now + expires_in if expires_in is not None else None,
        status=status,
        # Issued half an hour ago unless told otherwise: the refresh threshold depends on
        # the token's lifetime (issue to expiry), and most tests are about the margin.
        last_refreshed_at=fields.pop("last_refreshed_at", now - timedelta(minutes=30)),
        **fields,
    )
