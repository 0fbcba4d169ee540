"""Write operations on connected accounts: store a token set, refresh, revoke, disconnect.

What a caller may rely on:

- `get_access_token(account)` returns an access token, refreshing it first once it is due:
  when less than `min(OAUTH_REFRESH_MARGIN_SECONDS, half its lifetime)` is left, so tokens that
  live no longer than the margin are not refreshed on every call. The refresh is
  **single-flight** and holds **no database lock across the provider call**: a caller claims it
  with a conditional UPDATE lease (`refresh_lease_until`), calls the provider with no
  transaction open, and saves the new tokens (rotated refresh token included) only while the
  lease is still its own. Other callers poll briefly and return the token that changed while
  they waited, so many concurrent callers cause one refresh request and all get the new token.
- A refresh the provider rejects (`invalid_grant`, GitHub's `bad_refresh_token`) marks the
  account `needs_reconnect` and sends `oauth_account_needs_reconnect`; `ReconnectRequired` is
  raised. A transient failure (the resilient client already retried) raises
  `TokenRefreshFailed`, counts a failure and sets a backoff for the batch refresher; after
  `OAUTH_REFRESH_MAX_FAILURES` in a row the account needs reconnecting too.
- Disconnect revokes the grant at the provider first; a failed revoke is logged and returned,
  and local tokens are deleted anyway.
- Signals (`oauth_accounts.signals`) are sent inside the transaction that makes the change, so
  a receiver's writes commit with it and a receiver that raises rolls it back.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
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
from oauth_accounts import conf, selectors
from oauth_accounts.backends import RevokeUnsupported, backend_for
from oauth_accounts.exceptions import (
    ProviderNotConfigured,
    ReconnectRequired,
    TokenRefreshFailed,
)
from oauth_accounts.models import NO_LEASE, ConnectedAccount
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

MISSING_RENEWAL_NOTE = (
    "The provider issued no refresh token: this connection stops working when the access token "
    "expires. Ask for offline access (OIDC: the offline_access scope with OAUTH_OIDC_PROMPT="
    '"consent"), then reconnect.'
)


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
        if selectors.linked_without_refresh_token(account):
            # Shown in the admin; the user's page shows the account as "Expiring".
            account.last_error = MISSING_RENEWAL_NOTE
            logger.warning(
                "oauth_account_linked_without_refresh_token",
                extra={"account_id": account.pk, "provider": provider},
            )
        account.failure_count = 0
        account.next_refresh_attempt_at = None
        # A refresh still in flight for the old grant must not overwrite these tokens.
        account.refresh_lease_until = None
        account.refresh_lease_token = NO_LEASE
        account.save()
        # In the transaction that stores the tokens: a receiver's writes commit with them.
        oauth_account_connected.send(sender=ConnectedAccount, account=account, created=created)
    logger.info(
        "oauth_account_connected",
        extra={"account_id": account.pk, "provider": provider, "new_account": created},
    )
    return account


# --- refresh ---------------------------------------------------------------------------------

# A token is refreshed once less than this share of its lifetime is left (or the margin,
# whichever is shorter): a 300-second token is good for 150 s after each refresh even with the
# default 300-second margin, instead of being "due" the moment it arrives.
REFRESH_AT_LIFETIME_FRACTION = 0.5
# Waiting for another caller's refresh: first poll after 20 ms, doubling up to 250 ms.
_WAIT_FIRST_SECONDS = 0.02
_WAIT_CAP_SECONDS = 0.25


def refresh_threshold(account: ConnectedAccount) -> timedelta:
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


def _is_fresh(account: ConnectedAccount, now: datetime, within: timedelta) -> bool:
    return bool(account.access_token) and (
        account.expires_at is None or account.expires_at > now + within
    )


def _require_active(account: ConnectedAccount) -> None:
    if account.status != ConnectedAccount.Status.ACTIVE:
        raise ReconnectRequired(
            f"{account.provider} account {account.pk} is {account.status}",
            provider=account.provider,
        )


def get_access_token(account: ConnectedAccount | int, *, now: datetime | None = None) -> str:
    """A usable access token for `account`, refreshed first when it is due
    (`refresh_threshold`).

    Raises `ReconnectRequired` when the account cannot be used without the user, and
    `TokenRefreshFailed` when a needed refresh failed transiently and the current token has
    already expired (a token that is still valid is returned despite a failed early refresh).
    """
    if isinstance(account, int):
        account = ConnectedAccount.objects.get(pk=account)
    now = now or timezone.now()
    _require_active(account)
    if _is_fresh(account, now, refresh_threshold(account)):
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

    Needed means: `force`, or the access token is due (`within`, default `refresh_threshold`),
    or `idle_after` is given and the last refresh is older than that.

    Single-flight without holding a database lock across the provider call: the caller claims
    the refresh with one conditional UPDATE (a lease, `refresh_lease_until`, granted only while
    the tokens are still the ones it read), calls the provider with no transaction open, then
    saves the result in a short transaction only if the lease is still its own. A caller that
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
                return _finish_without_provider(account, now)
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
        outcome, account = _refresh_with_lease(account_id, lease, now)
    finally:
        _lease_release(account_id, lease)
    if outcome is not None:
        outcome()
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
    threshold = refresh_threshold(account) if within is None else within
    if not _is_fresh(account, now, threshold):
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


def _finish_without_provider(account: ConnectedAccount, now: datetime) -> ConnectedAccount:
    """Expired with no refresh token: only the user can fix it."""
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if _token_version(locked) != _token_version(account):
            return locked
        outcome = _mark_needs_reconnect(locked, "expired and no refresh token", now)
    outcome()
    return locked  # pragma: no cover - outcome() raises


def _refresh_with_lease(
    account_id: int, lease: str, now: datetime
) -> tuple[Callable[[], None] | None, ConnectedAccount]:
    """Call the provider holding only the lease (no transaction open), then compare-and-set.

    Returns what to do once the result is committed (raise the failure) and the account.
    """
    account = ConnectedAccount.objects.get(pk=account_id)
    tokens: TokenSet | None = None
    failure: tuple[str, str, bool] | None = None  # (kind, reason, transient)
    try:
        backend = backend_for(account.provider)
        response = backend.refresh_token(str(account.refresh_token))
        _check_same_identity(backend, account)
        tokens = TokenSet.from_response(response, now=now)
    except ProviderNotConfigured as exc:
        failure = ("failure", str(exc), False)
    except SocialAuthBaseException as exc:
        if _means_reconnect(exc):
            failure = ("reconnect", _describe(exc), False)
        else:
            failure = ("failure", _describe(exc), _is_transient(exc))
    except TokenRefreshFailed as exc:
        failure = ("failure", str(exc), False)
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
            return _lease_lost_outcome(locked), locked
        locked.refresh_lease_until = None
        locked.refresh_lease_token = NO_LEASE
        if failure is not None:
            kind, reason, transient = failure
            if kind == "reconnect":
                return _mark_needs_reconnect(locked, reason, now), locked
            return _record_failure(locked, reason, now, transient=transient), locked
        if tokens is None:  # the provider call returns tokens or a failure, never neither
            raise RuntimeError("oauth_token_refresh: no tokens and no failure")
        _apply_tokens(locked, tokens, now)
    logger.info(
        "oauth_token_refreshed",
        extra={
            "account_id": locked.pk,
            "provider": locked.provider,
            "rotated": bool(tokens.refresh_token),
        },
    )
    return None, locked


def _lease_lost_outcome(account: ConnectedAccount) -> Callable[[], None]:
    def after_commit() -> None:
        raise TokenRefreshFailed(
            f"refreshing {account.provider} account {account.pk} outlasted its lease "
            "(OAUTH_REFRESH_LEASE_SECONDS); the result was discarded",
            provider=account.provider,
            code="lease_lost",
        )

    return after_commit


def _apply_tokens(account: ConnectedAccount, tokens: TokenSet, now: datetime) -> None:
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
    # Called inside the refresh transaction: the receivers' writes commit with the new status.
    oauth_account_needs_reconnect.send(sender=ConnectedAccount, account=account, reason=reason)
    logger.warning(
        "oauth_account_needs_reconnect",
        extra={"account_id": account.pk, "provider": account.provider, "reason": reason},
    )

    def after_commit() -> None:
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
        oauth_account_disconnected.send(
            sender=ConnectedAccount,
            provider=provider,
            uid=uid,
            user_id=user_id,
            revoked=result.revoked,
        )
    logger.info(
        "oauth_account_disconnected",
        extra={"account_id": account_id, "provider": provider, "revoked": result.revoked},
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
        locked.refresh_lease_until = None
        locked.refresh_lease_token = NO_LEASE
        locked.save()
        # The link stays (shown as revoked, the user may connect again) but the tokens are
        # gone, so for a host the account is disconnected.
        oauth_account_disconnected.send(
            sender=ConnectedAccount,
            provider=locked.provider,
            uid=locked.uid,
            user_id=locked.user_id,
            revoked=result.revoked,
        )
    return result
