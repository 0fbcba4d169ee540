"""Values read from a token endpoint response: `TokenSet` and the scope list.

Plain values, no database and no network: the services store them, the backends and the
client-credentials cache read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oauth_accounts.exceptions import TokenRefreshFailed


def oauth_scopes_parse(value: Any) -> list[str]:
    """Google and OIDC separate scopes with spaces, GitHub with commas."""
    if isinstance(value, list | tuple):
        return [str(item) for item in value if str(item)]
    return [part for part in re.split(r"[\s,]+", str(value or "")) if part]


def token_expiry(seconds: Any, now: datetime) -> datetime | None:
    """When an `expires_in` of `seconds` ends, or None when absent or not a positive number."""
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        return None
    return now + timedelta(seconds=value) if value > 0 else None


@dataclass(frozen=True)
class TokenSet:
    """The credential part of a token endpoint response."""

    access_token: str
    refresh_token: str | None = None
    token_type: str = ""
    expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    scopes: tuple[str, ...] | None = None

    @classmethod
    def from_response(cls, response: dict[str, Any], *, now: datetime) -> TokenSet:
        access_token = response.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise TokenRefreshFailed("the provider returned no access token")
        refresh_token = response.get("refresh_token")
        scope = response.get("scope")
        return cls(
            access_token=access_token,
            refresh_token=refresh_token
            if isinstance(refresh_token, str) and refresh_token
            else None,
            token_type=str(response.get("token_type") or "")[:32],
            expires_at=token_expiry(response.get("expires_in"), now),
            refresh_token_expires_at=token_expiry(response.get("refresh_token_expires_in"), now),
            scopes=tuple(oauth_scopes_parse(scope)) if scope else None,
        )
