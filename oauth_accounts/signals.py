"""Signals this app sends, and the guard that keeps tokens out of `UserSocialAuth.extra_data`.

Every signal is sent with `sender=ConnectedAccount` (the class):

| signal | kwargs | sent when |
| --- | --- | --- |
| `oauth_account_connected` | `account`, `created` | a connect or reconnect completed |
| `oauth_account_needs_reconnect` | `account`, `reason` | refreshing can no longer work |
| `oauth_account_disconnected` | `provider`, `uid`, `user_id`, `revoked` | the tokens were removed |

- `account`: the `ConnectedAccount`, already saved with its new state; `created` is False for a
  reconnect of an existing link (including one staff had revoked).
- `reason`: a short, token-free description (`invalid_grant`, "5 failed refreshes in a row, …");
  sent when the provider rejects the refresh token (`invalid_grant`, GitHub's
  `bad_refresh_token`, …), when an expired account has no refresh token, and after
  `OAUTH_REFRESH_MAX_FAILURES` failed refreshes in a row. The user must connect again.
- `oauth_account_disconnected` is sent when the user (page or API) disconnects — the link and
  its tokens are deleted, so the kwargs carry plain values — and when staff revoke an account
  in the admin (tokens wiped, link kept as "revoked"). `revoked` says whether the provider
  confirmed the grant was revoked (False: tokens were removed locally only).

Each is sent inside the transaction that makes the change: a receiver's own writes commit
atomically with it, and a receiver that raises rolls the change back and propagates.
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
