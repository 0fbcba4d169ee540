"""Google (OAuth 2.0 for web server apps, OpenID Connect userinfo).

Docs: https://developers.google.com/identity/protocols/oauth2/web-server — authorization with
`access_type=offline` and `prompt=consent` so a refresh token is issued on every consent;
PKCE (S256) per RFC 7636 is supported by Google's authorization server. Token endpoint
`https://oauth2.googleapis.com/token`; revocation `https://oauth2.googleapis.com/revoke`
(revoking the refresh token ends the whole grant). Google drops refresh tokens unused for six
months, which `manage.py refresh_oauth_tokens` prevents by refreshing idle ones. Google
publishes no per-client rate limit for these endpoints.
"""

from __future__ import annotations

from typing import Any

from social_core.backends.google import GoogleOAuth2
from social_core.backends.oauth import BaseOAuth2PKCE

from oauth_accounts import conf
from oauth_accounts.backends.base import LiaisonBackendMixin
from oauth_accounts.exceptions import RevokeUnsupported


class GoogleBackend(LiaisonBackendMixin, GoogleOAuth2, BaseOAuth2PKCE):
    name = "google"
    title = "Google"
    service = "google"
    credential_settings = ("OAUTH_GOOGLE_CLIENT_ID", "OAUTH_GOOGLE_CLIENT_SECRET")

    AUTHORIZATION_URL = "https://accounts.google.com/o/oauth2/v2/auth"
    ACCESS_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL  # nosec B105
    REVOKE_URL = "https://oauth2.googleapis.com/revoke"
    # What Google's callbacks carry as RFC 9207 `iss` (checked when present).
    ISSUER = "https://accounts.google.com"

    @classmethod
    def configured_credentials(cls) -> tuple[str, str]:
        return conf.google_client_id(), conf.google_client_secret()

    def provider_settings(self) -> dict[str, Any]:
        return {
            "SCOPE": conf.google_scopes(),
            "AUTH_EXTRA_ARGUMENTS": {
                "access_type": "offline",
                "prompt": "consent",
                "include_granted_scopes": "true",
            },
        }

    def authorization_response_issuer(self) -> tuple[str, bool]:
        return self.ISSUER, False

    def revoke_issued_tokens(self, *, access_token: str | None, refresh_token: str | None) -> None:
        # Google revokes per user and app, whatever token is sent: revoking the tokens of a
        # refused second link would also end the first link of the same Google account.
        raise RevokeUnsupported(
            "Google would also revoke the existing link of this Google account; not revoked"
        )

    def revoke_grant(self, *, access_token: str | None, refresh_token: str | None) -> None:
        token = refresh_token or access_token
        if not token:
            raise RevokeUnsupported("no token to revoke")
        self.http(
            "POST",
            self.REVOKE_URL,
            data={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
