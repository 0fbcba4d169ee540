"""Write operations on connected accounts: store a token set, refresh, revoke, disconnect.

What a caller may rely on:

- `get_access_token(account)` returns an access token valid for at least the refresh margin
  when it can, refreshing first. The refresh is **single-flight**: the account row is locked
  (`SELECT … FOR UPDATE`; SQLite takes its database write lock) and expiry is re-checked once
  the lock is held, so many concurrent callers cause one refresh request and all get the new
  token. A rotated refresh token is saved in the same transaction.
- A refresh the provider rejects (`invalid_grant`, GitHub's `bad_refresh_token`) marks the
  account `needs_reconnect` and sends `oauth_account_needs_reconnect`; `ReconnectRequired` is
  raised. A transient failure (the resilient client already retried) raises
  `TokenRefreshFailed`, counts a failure and sets a backoff for the batch refresher; after
  `OAUTH_REFRESH_MAX_FAILURES` in a row the account needs reconnecting too.
- Disconnect revokes the grant at the provider first; a failed revoke is logged and returned,
  and local tokens are deleted anyway.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from social_core.exceptions import (
    AuthCredentialError,
    AuthProviderError,
    SocialAuthBaseException,
)

from integrations.core.exceptions import ClientError, IntegrationError
from oauth_accounts import conf
from oauth_accounts.backends import RevokeUnsupported, backend_for
from oauth_accounts.exceptions import (
    ProviderNotConfigured,
    ReconnectRequired,
    TokenRefreshFailed,
)
from oauth_accounts.models import ConnectedAccount
from oauth_accounts.signals import (
    oauth_account_connected,
    oauth_account_disconnected,
    oauth_account_needs_reconnect,
    strip_tokens,
)

logger = logging.getLogger(__name__)

# Provider answers meaning "this grant is gone": only the user can fix it by reconnecting.
RECONNECT_PROVIDER_CODES = frozenset(
    {"invalid_grant", "bad_refresh_token", "invalid_token", "token_revoked", "unauthorized"}
)
RECONNECT_CODES = frozenset(
    {"reauthentication_required", "credential_rejected", "authorization_code_rejected"}
)


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
            expires_at=_expiry(response.get("expires_in"), now),
            refresh_token_expires_at=_expiry(response.get("refresh_token_expires_in"), now),
            scopes=tuple(parse_scopes(scope)) if scope else None,
        )


@dataclass(frozen=True)
class RevokeResult:
    revoked: bool
    error: str = ""


@dataclass
class RefreshReport:
    checked: int = 0
    refreshed: int = 0
    failed: int = 0
    needs_reconnect: int = 0
    errors: list[str] = field(default_factory=list)


def parse_scopes(value: Any) -> list[str]:
    """Google and OIDC separate scopes with spaces, GitHub with commas."""
    if isinstance(value, list | tuple):
        return [str(item) for item in value if str(item)]
    return [part for part in re.split(r"[\s,]+", str(value or "")) if part]


def _expiry(seconds: Any, now: datetime) -> datetime | None:
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        return None
    return now + timedelta(seconds=value) if value > 0 else None


# --- connect ---------------------------------------------------------------------------------


def connected_account_save_from_flow(
    *,
    user: Any,
    social: Any,
    provider: str,
    response: dict[str, Any],
    details: dict[str, Any],
    extra_data: dict[str, Any],
    requested_scopes: list[str],
) -> ConnectedAccount:
    """Store the token set of a completed authorization (connect or reconnect)."""
    now = timezone.now()
    tokens = TokenSet.from_response(response, now=now)
    social.extra_data = strip_tokens(extra_data)
    social.save(update_fields=["extra_data"])
    with transaction.atomic():
        account, created = ConnectedAccount.objects.select_for_update().get_or_create(
            social_auth=social,
            defaults={"user": user, "provider": provider, "uid": str(social.uid)},
        )
        if created or account.status == ConnectedAccount.Status.REVOKED:
            account.connected_at = now
        account.user = user
        account.provider = provider
        account.uid = str(social.uid)
        account.display_name = str(
            details.get("fullname") or details.get("username") or details.get("email") or ""
        )[:255]
        account.email = str(details.get("email") or "")[:254]
        account.scopes = list(tokens.scopes) if tokens.scopes is not None else requested_scopes
        account.access_token = tokens.access_token
        # Google omits the refresh token when it re-uses a grant; keep the one we have.
        if tokens.refresh_token or created:
            account.refresh_token = tokens.refresh_token
        account.token_type = tokens.token_type
        account.expires_at = tokens.expires_at
        account.refresh_token_expires_at = tokens.refresh_token_expires_at
        account.status = ConnectedAccount.Status.ACTIVE
        account.last_refreshed_at = now
        account.last_error = ""
        account.failure_count = 0
        account.next_refresh_attempt_at = None
        account.save()
    logger.info(
        "oauth_account_connected",
        extra={"account_id": account.pk, "provider": provider, "new_account": created},
    )
    oauth_account_connected.send(sender=ConnectedAccount, account=account, created=created)
    return account


# --- refresh ---------------------------------------------------------------------------------


def _is_fresh(account: ConnectedAccount, now: datetime, margin: timedelta) -> bool:
    return bool(account.access_token) and (
        account.expires_at is None or account.expires_at > now + margin
    )


def get_access_token(account: ConnectedAccount | int, *, now: datetime | None = None) -> str:
    """A usable access token for `account`, refreshed first when it expires within the margin.

    Raises `ReconnectRequired` when the account cannot be used without the user, and
    `TokenRefreshFailed` when a needed refresh failed transiently and the current token has
    already expired (a token that is still valid is returned despite a failed early refresh).
    """
    if isinstance(account, int):
        account = ConnectedAccount.objects.get(pk=account)
    now = now or timezone.now()
    margin = conf.refresh_margin()
    if account.status != ConnectedAccount.Status.ACTIVE:
        raise ReconnectRequired(
            f"{account.provider} account {account.pk} is {account.status}",
            provider=account.provider,
        )
    if _is_fresh(account, now, margin):
        return str(account.access_token)
    try:
        refreshed = oauth_token_refresh(account_id=account.pk, now=now)
    except TokenRefreshFailed:
        if account.access_token and account.expires_at and account.expires_at > now:
            return str(account.access_token)
        raise
    return str(refreshed.access_token)


def oauth_token_refresh(
    *,
    account_id: int,
    now: datetime | None = None,
    within: timedelta | None = None,
    idle_after: timedelta | None = None,
    force: bool = False,
) -> ConnectedAccount:
    """Refresh one account's tokens unless, once its row is locked, that is no longer needed.

    Needed means: `force`, or the access token expires within `within` (default: the refresh
    margin), or `idle_after` is given and the last refresh is older than that.
    """
    now = now or timezone.now()
    within = conf.refresh_margin() if within is None else within
    outcome: Callable[[], None] | None = None
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=account_id)
        if account.status != ConnectedAccount.Status.ACTIVE:
            raise ReconnectRequired(
                f"{account.provider} account {account.pk} is {account.status}",
                provider=account.provider,
            )
        if not force and not _refresh_needed(account, now, within, idle_after):
            return account
        if not account.refresh_token:
            if account.expires_at is not None and account.expires_at <= now:
                outcome = _mark_needs_reconnect(account, "expired and no refresh token", now)
            else:
                return account
        else:
            outcome = _refresh_locked(account, now)
    if outcome is not None:
        outcome()
    return account


def _refresh_needed(
    account: ConnectedAccount, now: datetime, within: timedelta, idle_after: timedelta | None
) -> bool:
    if not _is_fresh(account, now, within):
        return True
    if idle_after is not None:
        last = account.last_refreshed_at or account.connected_at
        return last <= now - idle_after
    return False


def _refresh_locked(account: ConnectedAccount, now: datetime) -> Callable[[], None] | None:
    """Call the provider while holding the row lock; returns what to do after commit."""
    try:
        backend = backend_for(account.provider)
        response = backend.refresh_token(str(account.refresh_token))
        _check_same_identity(backend, account)
        tokens = TokenSet.from_response(response, now=now)
    except ProviderNotConfigured as exc:
        return _record_failure(account, str(exc), now, transient=False)
    except SocialAuthBaseException as exc:
        if _means_reconnect(exc):
            return _mark_needs_reconnect(account, _describe(exc), now)
        return _record_failure(account, _describe(exc), now, transient=_is_transient(exc))
    except TokenRefreshFailed as exc:
        return _record_failure(account, str(exc), now, transient=False)
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
    logger.info(
        "oauth_token_refreshed",
        extra={
            "account_id": account.pk,
            "provider": account.provider,
            "rotated": bool(tokens.refresh_token),
        },
    )
    return None


def _check_same_identity(backend: Any, account: ConnectedAccount) -> None:
    """An ID token returned by an OIDC refresh must name the same subject."""
    claims = getattr(backend, "id_token", None)
    if isinstance(claims, dict) and claims.get("sub") not in (None, account.uid):
        raise TokenRefreshFailed("refreshed ID token names another subject")


def _means_reconnect(exc: SocialAuthBaseException) -> bool:
    return (
        exc.provider_code in RECONNECT_PROVIDER_CODES
        or exc.code in RECONNECT_CODES
        or (isinstance(exc, AuthCredentialError) and exc.code != "invalid_setting")
    )


def _is_transient(exc: SocialAuthBaseException) -> bool:
    cause = exc.__cause__
    if isinstance(cause, IntegrationError):
        return cause.retryable
    return isinstance(exc, AuthProviderError) and exc.code in {
        "timeout",
        "unavailable",
        "rate_limited",
        "connection_failed",
    }


def _describe(exc: BaseException) -> str:
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


def _mark_needs_reconnect(
    account: ConnectedAccount, reason: str, now: datetime
) -> Callable[[], None]:
    account.status = ConnectedAccount.Status.NEEDS_RECONNECT
    account.failure_count += 1
    account.last_error = reason[:1000]
    account.next_refresh_attempt_at = None
    account.save()
    logger.warning(
        "oauth_account_needs_reconnect",
        extra={"account_id": account.pk, "provider": account.provider, "reason": reason},
    )

    def after_commit() -> None:
        oauth_account_needs_reconnect.send(sender=ConnectedAccount, account=account, reason=reason)
        raise ReconnectRequired(
            f"{account.provider} account {account.pk} needs reconnecting: {reason}",
            provider=account.provider,
            code="needs_reconnect",
        )

    return after_commit


def _record_failure(
    account: ConnectedAccount, reason: str, now: datetime, *, transient: bool
) -> Callable[[], None]:
    account.failure_count += 1
    if account.failure_count >= conf.refresh_max_failures():
        return _mark_needs_reconnect(
            account, f"{account.failure_count} failed refreshes in a row, last: {reason}", now
        )
    account.last_error = reason[:1000]
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
            "reason": reason,
            "transient": transient,
            "failures": account.failure_count,
        },
    )

    def after_commit() -> None:
        raise TokenRefreshFailed(
            f"refreshing {account.provider} account {account.pk} failed: {reason}",
            provider=account.provider,
            code="transient" if transient else "failed",
        )

    return after_commit


def oauth_tokens_refresh_due(
    *, within: timedelta | None = None, now: datetime | None = None
) -> RefreshReport:
    """Refresh every active account whose token expires within `within` (default: twice the
    margin) or whose refresh token has been idle for `OAUTH_IDLE_REFRESH_DAYS`, skipping
    accounts still backing off after failures."""
    now = now or timezone.now()
    within = conf.refresh_margin() * 2 if within is None else within
    idle_after = conf.idle_refresh_after()
    due = (
        ConnectedAccount.objects.filter(
            status=ConnectedAccount.Status.ACTIVE, refresh_token__isnull=False
        )
        .filter(
            Q(expires_at__lte=now + within)
            | Q(last_refreshed_at__lte=now - idle_after)
            | Q(last_refreshed_at__isnull=True, connected_at__lte=now - idle_after)
        )
        .filter(Q(next_refresh_attempt_at__isnull=True) | Q(next_refresh_attempt_at__lte=now))
        .order_by("expires_at", "id")
    )
    report = RefreshReport()
    for account_id in due.values_list("id", flat=True):
        report.checked += 1
        before = ConnectedAccount.objects.filter(pk=account_id).values_list(
            "last_refreshed_at", flat=True
        )[0]
        try:
            account = oauth_token_refresh(
                account_id=account_id, now=now, within=within, idle_after=idle_after
            )
        except ReconnectRequired as exc:
            report.needs_reconnect += 1
            report.errors.append(f"account {account_id}: {exc}")
            continue
        except TokenRefreshFailed as exc:
            report.failed += 1
            report.errors.append(f"account {account_id}: {exc}")
            continue
        if account.last_refreshed_at != before:
            report.refreshed += 1
    logger.info(
        "oauth_tokens_refresh_due",
        extra={
            "checked": report.checked,
            "refreshed": report.refreshed,
            "failed": report.failed,
            "needs_reconnect": report.needs_reconnect,
        },
    )
    return report


# --- revoke and disconnect -------------------------------------------------------------------


def connected_account_revoke_at_provider(*, account: ConnectedAccount) -> RevokeResult:
    """Ask the provider to end the grant. Never raises for provider failures."""
    try:
        backend = backend_for(account.provider)
    except ProviderNotConfigured as exc:
        return _revoke_failed(account, f"provider not configured: {exc}")
    access_token = account.access_token
    if (
        backend.revoke_needs_live_access_token
        and account.refresh_token
        and account.expires_at is not None
        and account.expires_at <= timezone.now()
        and account.status == ConnectedAccount.Status.ACTIVE
    ):
        # The provider revokes by access token (GitHub), which must still be valid.
        try:
            access_token = oauth_token_refresh(account_id=account.pk, force=True).access_token
        except (ReconnectRequired, TokenRefreshFailed):
            access_token = account.access_token
    try:
        backend.revoke_grant(access_token=access_token, refresh_token=account.refresh_token)
    except RevokeUnsupported as exc:
        return _revoke_failed(account, f"not revoked at the provider: {exc}")
    except ClientError as exc:
        if isinstance(exc.payload, dict) and exc.payload.get("error") == "invalid_token":
            # The provider no longer knows the token: the grant is already gone.
            logger.info(
                "oauth_grant_already_revoked",
                extra={"account_id": account.pk, "provider": account.provider},
            )
            return RevokeResult(revoked=True)
        return _revoke_failed(account, _describe(exc))
    except (IntegrationError, SocialAuthBaseException) as exc:
        return _revoke_failed(account, _describe(exc))
    logger.info(
        "oauth_grant_revoked", extra={"account_id": account.pk, "provider": account.provider}
    )
    return RevokeResult(revoked=True)


def _revoke_failed(account: ConnectedAccount, reason: str) -> RevokeResult:
    logger.warning(
        "oauth_grant_revoke_failed",
        extra={"account_id": account.pk, "provider": account.provider, "reason": reason},
    )
    return RevokeResult(revoked=False, error=reason)


def connected_account_disconnect(*, account: ConnectedAccount) -> RevokeResult:
    """Revoke at the provider, then delete the link and its tokens (even if revoking failed)."""
    result = connected_account_revoke_at_provider(account=account)
    provider, uid, user_id, account_id = account.provider, account.uid, account.user_id, account.pk
    with transaction.atomic():
        # Deleting the social-auth link cascades to the ConnectedAccount and its tokens.
        account.social_auth.delete()
    logger.info(
        "oauth_account_disconnected",
        extra={"account_id": account_id, "provider": provider, "revoked": result.revoked},
    )
    oauth_account_disconnected.send(
        sender=ConnectedAccount,
        provider=provider,
        uid=uid,
        user_id=user_id,
        revoked=result.revoked,
    )
    return result


def connected_account_revoke(*, account: ConnectedAccount) -> RevokeResult:
    """Staff action: revoke at the provider and wipe the tokens, keeping the link visible to the
    user as "revoked" (they can connect again)."""
    result = connected_account_revoke_at_provider(account=account)
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        locked.access_token = None
        locked.refresh_token = None
        locked.expires_at = None
        locked.refresh_token_expires_at = None
        locked.status = ConnectedAccount.Status.REVOKED
        locked.next_refresh_attempt_at = None
        locked.last_error = result.error
        locked.save()
    return result
