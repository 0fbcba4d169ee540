"""Revoke and disconnect: end the grant at the provider, then drop or wipe the local tokens.

`oauth_token_revoke(account=...)` is the provider call on its own, a plain function a task can
call (never raises for provider failures: the outcome is a `RevokeResult`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from social_core.exceptions import SocialAuthBaseException

from integrations.core.exceptions import ClientError, IntegrationError
from oauth_accounts.backends import backend_for
from oauth_accounts.exceptions import (
    ProviderNotConfigured,
    ReconnectRequired,
    RevokeUnsupported,
    TokenRefreshFailed,
)
from oauth_accounts.models import NO_LEASE, ConnectedAccount
from oauth_accounts.services.outcomes import failure_describe
from oauth_accounts.services.refresh import oauth_token_refresh
from oauth_accounts.signals import oauth_account_disconnected

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevokeResult:
    revoked: bool
    error: str = ""


def oauth_token_revoke(*, account: ConnectedAccount) -> RevokeResult:
    """Ask the provider to end the grant of `account`. Never raises for provider failures."""
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
        return _revoke_failed(account, failure_describe(exc))
    except (IntegrationError, SocialAuthBaseException) as exc:
        return _revoke_failed(account, failure_describe(exc))
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


def oauth_account_disconnect(*, account: ConnectedAccount) -> RevokeResult:
    """Revoke at the provider, then delete the link and its tokens (even if revoking failed)."""
    result = oauth_token_revoke(account=account)
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


def oauth_account_revoke(*, account: ConnectedAccount) -> RevokeResult:
    """Staff action: revoke at the provider and wipe the tokens, keeping the link visible to the
    user as "revoked" (they can connect again)."""
    result = oauth_token_revoke(account=account)
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
