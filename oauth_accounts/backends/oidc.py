"""Generic OpenID Connect provider, configured by issuer URL (Okta, Auth0, Keycloak, Azure AD,
django-oauth-toolkit, a company's own server).

Spec: OpenID Connect Core 1.0 and Discovery 1.0 — endpoints come from
`{issuer}/.well-known/openid-configuration`; the ID token is verified against the JWKS
(signature, `iss`, `aud`, `exp`, `iat`, nonce) by social-core. PKCE (RFC 7636, S256) is on,
although social-core's OIDC backend leaves it off by default. Revocation uses the RFC 7009
`revocation_endpoint` from discovery when the provider publishes one (revoking the refresh
token ends the grant). Rate limits are the provider's own; none is assumed.
"""

from __future__ import annotations

from typing import Any

from social_core.backends.open_id_connect import OpenIdConnectAuth

from oauth_accounts import conf
from oauth_accounts.backends.base import LiaisonBackendMixin, RevokeUnsupported


class OIDCBackend(LiaisonBackendMixin, OpenIdConnectAuth):
    name = "oidc"
    title = "OpenID Connect"
    service = "oidc"
    credential_settings = (
        "OAUTH_OIDC_ISSUER",
        "OAUTH_OIDC_CLIENT_ID",
        "OAUTH_OIDC_CLIENT_SECRET",
    )
    DEFAULT_USE_PKCE = True

    @classmethod
    def configured_credentials(cls) -> tuple[str, str]:
        return conf.oidc_client_id(), conf.oidc_client_secret()

    @classmethod
    def is_configured(cls) -> bool:
        return bool(conf.oidc_issuer()) and super().is_configured()

    @classmethod
    def display_title(cls) -> str:
        return conf.oidc_title()

    def provider_settings(self) -> dict[str, Any]:
        return {
            "OIDC_ENDPOINT": conf.oidc_issuer(),
            "SCOPE": conf.oidc_scopes(),
            "IGNORE_DEFAULT_SCOPE": True,
        }

    def revocation_endpoint(self) -> str:
        endpoint = self.oidc_config().get("revocation_endpoint")
        return endpoint if isinstance(endpoint, str) else ""

    def revoke_grant(self, *, access_token: str | None, refresh_token: str | None) -> None:
        endpoint = self.revocation_endpoint()
        if not endpoint:
            raise RevokeUnsupported("the provider's discovery document has no revocation_endpoint")
        token, hint = (
            (refresh_token, "refresh_token") if refresh_token else (access_token, "access_token")
        )
        if not token:
            raise RevokeUnsupported("no token to revoke")
        client_id, client_secret = self.configured_credentials()
        data = {"token": token, "token_type_hint": hint}
        auth: tuple[str, str] | None = None
        if self.use_basic_auth():
            auth = (client_id, client_secret)
        else:
            data.update({"client_id": client_id, "client_secret": client_secret})
        self.http(
            "POST",
            endpoint,
            data=data,
            auth=auth,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
