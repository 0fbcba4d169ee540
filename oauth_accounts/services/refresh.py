"""Refresh: a usable access token, refreshed single-flight under a lease, never under a lock.

- `oauth_access_token_get(account=...)` returns an access token, refreshing it first once it
  is due: when less than `min(OAUTH_REFRESH_MARGIN_SECONDS, half its lifetime)` is left
  (`selectors.oauth_token_refresh_threshold`), so tokens that live no longer than the margin
  are not refreshed on every call.
- `oauth_token_refresh(account_id=...)` is **single-flight** and holds **no database lock
  across the provider call**: a caller claims it with a conditional UPDATE lease
  (`refresh_lease_until`), calls the provider with no transaction open, and saves the new
  tokens (rotated refresh token included) only while the lease is still its own. Other callers
  poll briefly and return the token that changed while they waited, so many concurrent callers
  cause one refresh request and all get the new token.
- A refresh the provider rejects (`invalid_grant`, GitHub's `bad_refresh_token`) marks the
  account `needs_reconnect` and sends `oauth_account_needs_reconnect`; `ReconnectRequired` is
  raised. A transient failure raises `TokenRefreshFailed`, counts a failure and sets a backoff
  for the batch refresher (`oauth_tokens_refresh_due`).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from social_core.exceptions import SocialAuthBaseException

from oauth_accounts import conf
from oauth_accounts.backends import backend_for
from oauth_accounts.exceptions import (
    OAuthError,
    ProviderNotConfigured,
    ReconnectRequired,
    TokenRefreshFailed,
)
from oauth_accounts.models import NO_LEASE, ConnectedAccount
from oauth_accounts.selectors import oauth_token_is_fresh, oauth_token_refresh_threshold
from oauth_accounts.services.outcomes import (
    RefreshFailure,
    account_needs_reconnect_mark,
    account_refresh_failure_record,
    account_tokens_store,
    refresh_failure_classify,
)
from oauth_accounts.tokens import TokenSet

logger = logging.getLogger(__name__)

# Waiting for another caller's refresh: first poll after 20 ms, doubling up to 250 ms.
_WAIT_FIRST_SECONDS = 0.02
_WAIT_CAP_SECONDS = 0.25


@dataclass
class RefreshReport:
    checked: int = 0
    refreshed: int = 0
    failed: int = 0
    needs_reconnect: int = 0
    errors: list[str] = field(default_factory=list)


def _require_active(account: ConnectedAccount) -> None:
    if account.status != ConnectedAccount.Status.ACTIVE:
        raise ReconnectRequired(
            f"{account.provider} account {account.pk} is {account.status}",
            provider=account.provider,
        )


def oauth_access_token_get(*, account: ConnectedAccount | int, now: datetime | None = None) -> str:
    """A usable access token for `account`, refreshed first when it is due.

    Raises `ReconnectRequired` when the account cannot be used without the user, and
    `TokenRefreshFailed` when a needed refresh failed transiently and the current token has
    already expired (a token that is still valid is returned despite a failed early refresh).
    """
    if isinstance(account, int):
        account = ConnectedAccount.objects.get(pk=account)
    now = now or timezone.now()
    _require_active(account)
    if oauth_token_is_fresh(account, now=now, within=oauth_token_refresh_threshold(account)):
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
    wait: bool = True,
) -> ConnectedAccount:
    """Refresh one account's tokens unless that is no longer needed.

    Needed means: `force`, or the access token is due (`within`, default the refresh
    threshold), or `idle_after` is given and the last refresh is older than that. A caller that
    finds the lease taken polls (20 ms, doubling to 250 ms) for up to
    `OAUTH_REFRESH_WAIT_SECONDS`; tokens that changed meanwhile are fresh by definition and
    returned as they are. With `wait=False` (the batch refresher) it returns at once instead.
    """
    now = now or timezone.now()
    account = ConnectedAccount.objects.get(pk=account_id)
    seen = _token_version(account)
    deadline = time.monotonic() + conf.refresh_wait().total_seconds()
    delay = _WAIT_FIRST_SECONDS
    while True:
        _require_active(account)
        if not force and not _refresh_needed(account, now, within, idle_after):
            return account
        if not account.refresh_token:
            if account.expires_at is not None and account.expires_at <= now:
                error, account = _expired_without_refresh_token(account)
                if error is not None:
                    raise error
            return account
        lease = _lease_claim(account)
        if lease is not None:
            break
        if not wait:
            return account
        if time.monotonic() >= deadline:
            raise TokenRefreshFailed(
                f"{account.provider} account {account.pk}: another caller's refresh is still "
                "in progress",
                provider=account.provider,
                code="refresh_in_progress",
            )
        time.sleep(delay)
        delay = min(delay * 2, _WAIT_CAP_SECONDS)
        account = ConnectedAccount.objects.get(pk=account_id)
        if _token_version(account) != seen:
            # Another caller refreshed (or reconnected) while this one waited: fresh.
            _require_active(account)
            return account
    try:
        error, account = _refresh_with_lease(account_id, lease, now)
    finally:
        _lease_release(account_id, lease)
    if error is not None:
        raise error
    return account


def _token_version(account: ConnectedAccount) -> tuple[Any, ...]:
    """What changes whenever new tokens are stored (refresh, reconnect) or the status does."""
    return (account.last_refreshed_at, account.connected_at, account.status)


def _refresh_needed(
    account: ConnectedAccount,
    now: datetime,
    within: timedelta | None,
    idle_after: timedelta | None,
) -> bool:
    threshold = oauth_token_refresh_threshold(account) if within is None else within
    if not oauth_token_is_fresh(account, now=now, within=threshold):
        return True
    if idle_after is not None:
        last = account.last_refreshed_at or account.connected_at
        return last <= now - idle_after
    return False


def _lease_claim(account: ConnectedAccount) -> str | None:
    """Claim the refresh of `account` with one conditional UPDATE (autocommit, no lock kept).

    Granted only when no unexpired lease exists and the tokens are still the ones `account`
    holds (so a caller that read them before another caller's refresh finished cannot refresh
    a second time). Returns the lease token, or None when not granted.
    """
    lease = secrets.token_hex(16)
    clock = timezone.now()
    same_tokens = (
        Q(last_refreshed_at=account.last_refreshed_at)
        if account.last_refreshed_at is not None
        else Q(last_refreshed_at__isnull=True)
    )
    claimed = (
        ConnectedAccount.objects.filter(
            same_tokens,
            pk=account.pk,
            connected_at=account.connected_at,
            status=ConnectedAccount.Status.ACTIVE,
        )
        .filter(Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lte=clock))
        .update(refresh_lease_until=clock + conf.refresh_lease(), refresh_lease_token=lease)
    )
    return lease if claimed else None


def _lease_release(account_id: int, lease: str) -> None:
    """Drop the lease if it is still ours (a no-op after a successful save, which clears it)."""
    ConnectedAccount.objects.filter(pk=account_id, refresh_lease_token=lease).update(
        refresh_lease_until=None, refresh_lease_token=NO_LEASE
    )


def _expired_without_refresh_token(
    account: ConnectedAccount,
) -> tuple[OAuthError | None, ConnectedAccount]:
    """Expired with no refresh token: only the user can fix it. Returns the error to raise
    (None when the account changed meanwhile, e.g. was reconnected) and the account."""
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if _token_version(locked) != _token_version(account):
            return None, locked
        return account_needs_reconnect_mark(locked, "expired and no refresh token"), locked


def _provider_refresh(account: ConnectedAccount, now: datetime) -> TokenSet | RefreshFailure:
    """Call the provider's refresh grant (no transaction open): new tokens, or the failure."""
    try:
        backend = backend_for(account.provider)
        response = backend.refresh_token(str(account.refresh_token))
        claims = getattr(backend, "id_token", None)
        if isinstance(claims, dict) and claims.get("sub") not in (None, account.uid):
            # An ID token returned by an OIDC refresh must name the same subject.
            raise TokenRefreshFailed("refreshed ID token names another subject")
        return TokenSet.from_response(response, now=now)
    except (ProviderNotConfigured, TokenRefreshFailed) as exc:
        return RefreshFailure(str(exc))
    except SocialAuthBaseException as exc:
        return refresh_failure_classify(exc)


def _refresh_with_lease(
    account_id: int, lease: str, now: datetime
) -> tuple[OAuthError | None, ConnectedAccount]:
    """Call the provider holding only the lease, then compare-and-set in a short transaction.

    Returns the error to raise once that transaction committed (None on success) and the
    account as stored.
    """
    account = ConnectedAccount.objects.get(pk=account_id)
    result = _provider_refresh(account, now)
    with transaction.atomic():
        # A short lock on the row, no network call inside: the compare-and-set.
        locked = ConnectedAccount.objects.select_for_update().get(pk=account_id)
        if locked.refresh_lease_token != lease:
            # Our lease expired and another caller took over, or the user reconnected: what
            # the provider answered us must not overwrite what is stored now.
            logger.warning(
                "oauth_token_refresh_lease_lost",
                extra={"account_id": account_id, "provider": locked.provider},
            )
            if _token_version(locked) != _token_version(account):
                return None, locked
            return _lease_lost(locked), locked
        locked.refresh_lease_until = None
        locked.refresh_lease_token = NO_LEASE
        if isinstance(result, RefreshFailure):
            return account_refresh_failure_record(locked, result, now), locked
        account_tokens_store(locked, result, now)
    logger.info(
        "oauth_token_refreshed",
        extra={
            "account_id": locked.pk,
            "provider": locked.provider,
            "rotated": bool(result.refresh_token),
        },
    )
    return None, locked


def _lease_lost(account: ConnectedAccount) -> TokenRefreshFailed:
    return TokenRefreshFailed(
        f"refreshing {account.provider} account {account.pk} outlasted its lease "
        "(OAUTH_REFRESH_LEASE_SECONDS); the result was discarded",
        provider=account.provider,
        code="lease_lost",
    )


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
                account_id=account_id, now=now, within=within, idle_after=idle_after, wait=False
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
