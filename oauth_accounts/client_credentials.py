"""Client-credentials grant (RFC 6749 §4.4) for server-to-server APIs, cached and single-flight.

`client_credentials_token()` returns a cached access token until it is due — less than
`min(OAUTH_REFRESH_MARGIN_SECONDS, half its lifetime)` left — then fetches a new one. Concurrent
callers for the same (token URL, client id, scope, audience) cause one token request, and no
database lock is held across it: a caller claims the fetch with one conditional UPDATE (a lease,
`fetch_lease_until`), requests the token with no transaction open, and stores it only while the
lease is still its own; the others poll briefly and return the token that arrived meanwhile.
The token is stored encrypted (`ClientCredentialsToken.access_token`), never in the plaintext
cache. Token requests go through the resilient client of `service`; its typed errors propagate.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.outbound.http import ServiceClient
from oauth_accounts import conf
from oauth_accounts.exceptions import OAuthError
from oauth_accounts.models import NO_LEASE, ClientCredentialsToken
from oauth_accounts.selectors import REFRESH_AT_LIFETIME_FRACTION

logger = logging.getLogger(__name__)

# Used when the token response has no expires_in.
DEFAULT_LIFETIME = timedelta(minutes=5)
_WAIT_FIRST_SECONDS = 0.02
_WAIT_CAP_SECONDS = 0.25


def client_credentials_token(
    *,
    service: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    scope: str = "",
    audience: str = "",
    send_credentials_in_body: bool = False,
) -> str:
    key = hashlib.sha256(
        "\n".join((token_url, client_id, scope, audience)).encode("utf-8")
    ).hexdigest()
    row = ClientCredentialsToken.objects.filter(cache_key=key).first()
    if row is not None and _usable(row):
        return str(row.access_token)
    if row is None:
        row = _row_for(key, service=service, token_url=token_url, client_id=client_id, scope=scope)
    lease = _wait_for_lease(row)
    if isinstance(lease, ClientCredentialsToken):
        return str(lease.access_token)
    try:
        token, expires_at, fetched_at = _fetch(
            service=service,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            audience=audience,
            send_credentials_in_body=send_credentials_in_body,
        )
        with transaction.atomic():
            # A short lock, no network call inside: store only while the lease is ours.
            locked = ClientCredentialsToken.objects.select_for_update().get(pk=row.pk)
            if locked.fetch_lease_token == lease:
                locked.access_token = token
                locked.expires_at = expires_at
                locked.fetched_at = fetched_at
                locked.service = service
                locked.fetch_lease_until = None
                locked.fetch_lease_token = NO_LEASE
                locked.save()
            else:
                logger.warning("oauth_client_credentials_lease_lost", extra={"service": service})
    finally:
        ClientCredentialsToken.objects.filter(pk=row.pk, fetch_lease_token=lease).update(
            fetch_lease_until=None, fetch_lease_token=NO_LEASE
        )
    logger.info("oauth_client_credentials_fetched", extra={"service": service})
    return token


def _row_for(
    key: str, *, service: str, token_url: str, client_id: str, scope: str
) -> ClientCredentialsToken:
    try:
        with transaction.atomic():
            row, _created = ClientCredentialsToken.objects.get_or_create(
                cache_key=key,
                defaults={
                    "service": service,
                    "token_url": token_url,
                    "client_id": client_id,
                    "scope": scope,
                },
            )
    except IntegrityError:
        row = ClientCredentialsToken.objects.get(cache_key=key)
    return row


def _wait_for_lease(row: ClientCredentialsToken) -> str | ClientCredentialsToken:
    """The lease token once this caller may fetch, or the row once another caller's token
    arrived (fresh by definition). Raises `OAuthError` after `OAUTH_REFRESH_WAIT_SECONDS`."""
    seen = row.fetched_at
    deadline = time.monotonic() + conf.refresh_wait().total_seconds()
    delay = _WAIT_FIRST_SECONDS
    while True:
        lease = secrets.token_hex(16)
        clock = timezone.now()
        same = Q(fetched_at=seen) if seen is not None else Q(fetched_at__isnull=True)
        claimed = (
            ClientCredentialsToken.objects.filter(same, pk=row.pk)
            .filter(Q(fetch_lease_until__isnull=True) | Q(fetch_lease_until__lte=clock))
            .update(fetch_lease_until=clock + conf.refresh_lease(), fetch_lease_token=lease)
        )
        if claimed:
            return lease
        current = ClientCredentialsToken.objects.get(pk=row.pk)
        if current.fetched_at != seen and current.access_token:
            return current
        if time.monotonic() >= deadline:
            raise OAuthError(
                "another caller's client-credentials token request is still in progress",
                code="fetch_in_progress",
            )
        time.sleep(delay)
        delay = min(delay * 2, _WAIT_CAP_SECONDS)


def _fetch(
    *,
    service: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    scope: str,
    audience: str,
    send_credentials_in_body: bool,
) -> tuple[str, datetime, datetime]:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    if audience:
        data["audience"] = audience
    auth: tuple[str, str] | None = (client_id, client_secret)
    if send_credentials_in_body:
        data.update({"client_id": client_id, "client_secret": client_secret})
        auth = None
    response = ServiceClient(service).request(
        "POST", token_url, data=data, auth=auth, headers={"Accept": "application/json"}
    )
    payload = response.json()
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise OAuthError("the token endpoint returned no access_token", code="malformed")
    now = timezone.now()
    try:
        lifetime = timedelta(seconds=int(payload.get("expires_in")))
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return token, now + lifetime, now


def _usable(row: ClientCredentialsToken) -> bool:
    if not row.access_token or row.expires_at is None:
        return False
    threshold = conf.refresh_margin()
    if row.fetched_at is not None and row.expires_at > row.fetched_at:
        threshold = min(threshold, (row.expires_at - row.fetched_at) * REFRESH_AT_LIFETIME_FRACTION)
    return row.expires_at > timezone.now() + threshold
