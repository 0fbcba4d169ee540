"""Write operations on connected accounts, one module per operation:

- `connect.py`: `oauth_account_connect` (store the token set of a completed authorization).
- `refresh.py`: `oauth_access_token_get`, `oauth_token_refresh`, `oauth_tokens_refresh_due`.
- `revoke.py`: `oauth_token_revoke` (the provider call alone), `oauth_account_disconnect`,
  `oauth_account_revoke` (staff: wipe the tokens, keep the link).
- `outcomes.py`: what a failed refresh records; every write returns the error its caller
  raises after the transaction committed (no closures that raise).

Signals (`oauth_accounts.signals`) are sent inside the transaction that makes the change, so a
receiver's writes commit with it and a receiver that raises rolls it back. Reads live in
`oauth_accounts.selectors` (`oauth_token_refresh_threshold`), values in `oauth_accounts.tokens`
(`TokenSet`, `oauth_scopes_parse`).

`get_access_token(account)` is the name the README used to document: a deprecated alias
of `oauth_access_token_get(account=...)`, kept for host projects.
"""

from __future__ import annotations

import warnings
from datetime import datetime

from oauth_accounts.models import ConnectedAccount
from oauth_accounts.services.connect import MISSING_RENEWAL_NOTE, oauth_account_connect
from oauth_accounts.services.outcomes import RECONNECT_CODES, RECONNECT_PROVIDER_CODES
from oauth_accounts.services.refresh import (
    RefreshReport,
    oauth_access_token_get,
    oauth_token_refresh,
    oauth_tokens_refresh_due,
)
from oauth_accounts.services.revoke import (
    RevokeResult,
    oauth_account_disconnect,
    oauth_account_revoke,
    oauth_token_revoke,
)

__all__ = [
    "MISSING_RENEWAL_NOTE",
    "RECONNECT_CODES",
    "RECONNECT_PROVIDER_CODES",
    "RefreshReport",
    "RevokeResult",
    "get_access_token",
    "oauth_access_token_get",
    "oauth_account_connect",
    "oauth_account_disconnect",
    "oauth_account_revoke",
    "oauth_token_refresh",
    "oauth_token_revoke",
    "oauth_tokens_refresh_due",
]


def _deprecated_access_token_alias(
    account: ConnectedAccount | int, *, now: datetime | None = None
) -> str:
    """Deprecated: use `oauth_access_token_get(account=...)`."""
    warnings.warn(
        "oauth_accounts.services.get_access_token is deprecated; use "
        "oauth_access_token_get(account=...)",
        DeprecationWarning,
        stacklevel=2,
    )
    return oauth_access_token_get(account=account, now=now)


get_access_token = _deprecated_access_token_alias
