"""Signals this app sends, and the guard that keeps tokens out of `UserSocialAuth.extra_data`.

- `oauth_account_connected(sender=ConnectedAccount, account, created)`
- `oauth_account_needs_reconnect(sender=ConnectedAccount, account, reason)`: a refresh was
  rejected (`invalid_grant`) or failed too many times in a row; the user must connect again.
- `oauth_account_disconnected(sender=ConnectedAccount, provider, uid, user_id, revoked)`
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

oauth_account_connected = Signal()
oauth_account_needs_reconnect = Signal()
oauth_account_disconnected = Signal()

# Keys social-core puts in extra_data that hold credentials.
TOKEN_KEYS = frozenset({"access_token", "refresh_token", "id_token", "oauth_token_secret"})


def strip_tokens(extra_data: dict[str, Any] | None) -> dict[str, Any]:
    """`extra_data` without any credential (auth time, expiry, ids and claims stay)."""
    return {
        key: value
        for key, value in (extra_data or {}).items()
        if key not in TOKEN_KEYS and not (key.endswith("_token") and key != "token_type")
    }


def strip_tokens_before_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save on UserSocialAuth: whatever code path saved it (social-core's own
    `refresh_token()`, `set_extra_data()`), no token reaches the column."""
    if isinstance(instance.extra_data, dict):
        instance.extra_data = strip_tokens(instance.extra_data)
