"""Connect: store the token set of a completed authorization (connect or reconnect)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from oauth_accounts import selectors
from oauth_accounts.models import NO_LEASE, ConnectedAccount
from oauth_accounts.signals import oauth_account_connected, strip_tokens
from oauth_accounts.tokens import TokenSet

logger = logging.getLogger(__name__)

MISSING_RENEWAL_NOTE = (
    "The provider issued no refresh token: this connection stops working when the access token "
    "expires. Ask for offline access (OIDC: the offline_access scope with OAUTH_OIDC_PROMPT="
    '"consent"), then reconnect.'
)


def oauth_account_connect(
    *,
    user: Any,
    social: Any,
    provider: str,
    response: dict[str, Any],
    details: dict[str, Any],
    extra_data: dict[str, Any],
    requested_scopes: list[str],
) -> ConnectedAccount:
    """Store the token set of a completed authorization (connect or reconnect).

    Sends `oauth_account_connected` inside the transaction that stores the tokens, so a
    receiver's writes commit with them.
    """
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
        oauth_account_connected.send(sender=ConnectedAccount, account=account, created=created)
    logger.info(
        "oauth_account_connected",
        extra={"account_id": account.pk, "provider": provider, "new_account": created},
    )
    return account
