"""Client-credentials grant (RFC 6749 §4.4) for server-to-server APIs, cached and single-flight.

`client_credentials_token()` returns a cached access token until shortly before it expires
(the refresh margin), then fetches a new one. Concurrent callers for the same (token URL,
client id, scope, audience) cause one token request: the cache row is locked
(`SELECT … FOR UPDATE`) and re-checked once the lock is held. The token is stored encrypted
(`ClientCredentialsToken.access_token`), never in the plaintext cache. Token requests go
through the resilient client of `service`; its typed errors propagate.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations.outbound.http import ServiceClient
from oauth_accounts import conf
from oauth_accounts.exceptions import OAuthError
from oauth_accounts.models import ClientCredentialsToken

logger = logging.getLogger(__name__)

# Used when the token response has no expires_in.
DEFAULT_LIFETIME = timedelta(minutes=5)


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
    margin = conf.refresh_margin()
    cached = ClientCredentialsToken.objects.filter(cache_key=key).first()
    if cached is not None and _usable(cached, margin):
        return str(cached.access_token)
    with transaction.atomic():
        ClientCredentialsToken.objects.get_or_create(
            cache_key=key,
            defaults={
                "service": service,
                "token_url": token_url,
                "client_id": client_id,
                "scope": scope,
            },
        )
        row = ClientCredentialsToken.objects.select_for_update().get(cache_key=key)
        if _usable(row, margin):
            return str(row.access_token)
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
        row.access_token = token
        row.expires_at = now + lifetime
        row.fetched_at = now
        row.service = service
        row.save()
    logger.info("oauth_client_credentials_fetched", extra={"service": service})
    return token


def _usable(row: ClientCredentialsToken, margin: timedelta) -> bool:
    return bool(row.access_token) and (
        row.expires_at is not None and row.expires_at > timezone.now() + margin
    )
