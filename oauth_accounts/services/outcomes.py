"""What a refresh ends in, as values: the failure read from a provider exception, and the
writes that record it. Each write returns the error the caller raises once the transaction
has committed (so the recorded state survives the exception)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from social_core.exceptions import AuthCredentialError, AuthProviderError, SocialAuthBaseException

from integrations.core.exceptions import ClientError, IntegrationError
from oauth_accounts import conf
from oauth_accounts.exceptions import OAuthError, ReconnectRequired, TokenRefreshFailed
from oauth_accounts.models import ConnectedAccount
from oauth_accounts.signals import oauth_account_needs_reconnect
from oauth_accounts.tokens import TokenSet

logger = logging.getLogger(__name__)

# Provider answers meaning "this grant is gone": only the user can fix it by reconnecting.
RECONNECT_PROVIDER_CODES = frozenset(
    {"invalid_grant", "bad_refresh_token", "invalid_token", "token_revoked", "unauthorized"}
)
RECONNECT_CODES = frozenset(
    {"reauthentication_required", "credential_rejected", "authorization_code_rejected"}
)
_TRANSIENT_CODES = frozenset({"timeout", "unavailable", "rate_limited", "connection_failed"})


@dataclass(frozen=True)
class RefreshFailure:
    """Why a refresh failed: `reconnect` (the grant is gone) or not, and whether retrying
    later may help (`transient`)."""

    reason: str
    reconnect: bool = False
    transient: bool = False


def refresh_failure_classify(exc: SocialAuthBaseException) -> RefreshFailure:
    """The failure a social-auth exception from a refresh grant stands for."""
    reconnect = (
        exc.provider_code in RECONNECT_PROVIDER_CODES
        or exc.code in RECONNECT_CODES
        or (isinstance(exc, AuthCredentialError) and exc.code != "invalid_setting")
    )
    cause = exc.__cause__
    if isinstance(cause, IntegrationError):
        transient = cause.retryable
    else:
        transient = isinstance(exc, AuthProviderError) and exc.code in _TRANSIENT_CODES
    return RefreshFailure(failure_describe(exc), reconnect=reconnect, transient=transient)


def failure_describe(exc: BaseException) -> str:
    """A short, token-free description of a failure for `last_error` and messages."""
    if isinstance(exc, SocialAuthBaseException):
        parts = [exc.code]
        if exc.provider_code:
            parts.append(f"provider said {exc.provider_code}")
        if exc.status_code:
            parts.append(f"HTTP {exc.status_code}")
        cause = exc.__cause__
        if isinstance(cause, IntegrationError):
            parts.append(type(cause).__name__)
        return ", ".join(str(part) for part in parts)
    if isinstance(exc, ClientError):
        code = exc.payload.get("error") if isinstance(exc.payload, dict) else None
        return f"{type(exc).__name__} HTTP {exc.status}" + (
            f", provider said {code}" if code else ""
        )
    if isinstance(exc, IntegrationError):
        status = f" HTTP {exc.status}" if exc.status else ""
        return f"{type(exc).__name__}{status}"
    return type(exc).__name__ if not str(exc) else str(exc)[:300]


def account_tokens_store(account: ConnectedAccount, tokens: TokenSet, now: datetime) -> None:
    """Save a refreshed token set (a rotated refresh token replaces the old one)."""
    account.access_token = tokens.access_token
    if tokens.refresh_token:
        account.refresh_token = tokens.refresh_token
    if tokens.refresh_token_expires_at is not None:
        account.refresh_token_expires_at = tokens.refresh_token_expires_at
    account.expires_at = tokens.expires_at
    if tokens.token_type:
        account.token_type = tokens.token_type
    if tokens.scopes is not None:
        account.scopes = list(tokens.scopes)
    account.last_refreshed_at = now
    account.failure_count = 0
    account.last_error = ""
    account.next_refresh_attempt_at = None
    account.save()


def account_needs_reconnect_mark(account: ConnectedAccount, reason: str) -> ReconnectRequired:
    """Mark `account` as needing the user, send the signal (in the caller's transaction, so
    the receivers' writes commit with the new status); return the error to raise."""
    account.status = ConnectedAccount.Status.NEEDS_RECONNECT
    account.failure_count += 1
    account.last_error = reason[:1000]
    account.next_refresh_attempt_at = None
    account.save()
    oauth_account_needs_reconnect.send(sender=ConnectedAccount, account=account, reason=reason)
    logger.warning(
        "oauth_account_needs_reconnect",
        extra={"account_id": account.pk, "provider": account.provider, "reason": reason},
    )
    return ReconnectRequired(
        f"{account.provider} account {account.pk} needs reconnecting: {reason}",
        provider=account.provider,
        code="needs_reconnect",
    )


def account_refresh_failure_record(
    account: ConnectedAccount, failure: RefreshFailure, now: datetime
) -> OAuthError:
    """Count a failed refresh and back off; after `OAUTH_REFRESH_MAX_FAILURES` in a row (or
    when the grant is gone) the account needs reconnecting. Returns the error to raise."""
    if failure.reconnect:
        return account_needs_reconnect_mark(account, failure.reason)
    account.failure_count += 1
    if account.failure_count >= conf.refresh_max_failures():
        return account_needs_reconnect_mark(
            account, f"{account.failure_count} failed refreshes in a row, last: {failure.reason}"
        )
    account.last_error = failure.reason[:1000]
    delay = min(
        conf.refresh_backoff_base() * (2 ** (account.failure_count - 1)),
        conf.refresh_backoff_cap(),
    )
    account.next_refresh_attempt_at = now + delay
    account.save()
    logger.warning(
        "oauth_token_refresh_failed",
        extra={
            "account_id": account.pk,
            "provider": account.provider,
            "reason": failure.reason,
            "transient": failure.transient,
            "failures": account.failure_count,
        },
    )
    return TokenRefreshFailed(
        f"refreshing {account.provider} account {account.pk} failed: {failure.reason}",
        provider=account.provider,
        code="transient" if failure.transient else "failed",
    )
