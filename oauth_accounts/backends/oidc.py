"""Generic OpenID Connect provider, configured by issuer URL (Okta, Auth0, Keycloak, Azure AD,
django-oauth-toolkit, a company's own server).

Spec: OpenID Connect Core 1.0 and Discovery 1.0 — endpoints come from
`{issuer}/.well-known/openid-configuration`; the ID token is verified against the JWKS
(signature, `iss`, `aud`, `exp`, `iat`, nonce) by social-core. PKCE (RFC 7636, S256) is on,
although social-core's OIDC backend leaves it off by default. Revocation uses the RFC 7009
`revocation_endpoint` from discovery when the provider publishes one (revoking the refresh
token ends the grant). Token-endpoint client authentication (exchange, refresh, revocation)
follows `token_endpoint_auth_methods_supported`: `client_secret_basic` when listed (or nothing is
listed, the spec's default), `client_secret_post` otherwise. RFC 9207: when discovery says
`authorization_response_iss_parameter_supported`, the callback must carry `iss` equal to the
discovered `issuer`. Spec-strict providers issue a refresh token only for `offline_access` with
`prompt=consent` (OIDC Core §11): `OAUTH_OIDC_PROMPT` and `OAUTH_OIDC_AUTH_EXTRA_ARGUMENTS`.
Rate limits are the provider's own; none is assumed.
"""

from __future__ import annotations

from typing import Any

from social_core.backends.open_id_connect import OpenIdConnectAuth

from oauth_accounts import conf
from oauth_accounts.backends.base import LiaisonBackendMixin
from oauth_accounts.exceptions import RevokeUnsupported


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
        values: dict[str, Any] = {
            "OIDC_ENDPOINT": conf.oidc_issuer(),
            "SCOPE": conf.oidc_scopes(),
            "IGNORE_DEFAULT_SCOPE": True,
        }
        prompt = conf.oidc_prompt()
        if prompt:
            # social-core checks the values (none, login, consent, select_account).
            values["PROMPT"] = prompt
        return values

    def authorization_response_issuer(self) -> tuple[str, bool]:
        config = self.oidc_config()
        issuer = config.get("issuer")
        if not isinstance(issuer, str) or not issuer:
            return "", False
        return issuer, config.get("authorization_response_iss_parameter_supported") is True

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
        auth, client_fields = self.client_auth()
        data = {"token": token, "token_type_hint": hint, **client_fields}
        self.http(
            "POST",
            endpoint,
            data=data,
            auth=auth,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
