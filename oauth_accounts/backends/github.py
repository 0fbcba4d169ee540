"""GitHub: OAuth Apps, and GitHub Apps acting for a user (user access tokens).

Docs: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
(PKCE with S256 is accepted by both OAuth Apps and GitHub Apps) and
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
— a GitHub App with expiring user tokens returns `expires_in` (8 h), `refresh_token` and
`refresh_token_expires_in` (6 months); every refresh **rotates** the refresh token, so two
concurrent refreshes lose the connection (hence the single-flight refresh in services).
Errors come back as HTTP 200 with `{"error": "bad_refresh_token"}` etc.

Revocation: `DELETE /applications/{client_id}/grant` with the app's basic auth and
`{"access_token": ...}` (REST API version 2022-11-28) ends the whole grant; social-core's
GitHub backend has no revoke URL. A refused second link revokes only the token it was issued
(`DELETE /applications/{client_id}/token`), so the account's existing link keeps working.
Rate limits: 5,000 requests/h per user token
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
"""

from __future__ import annotations

from typing import Any

from social_core.backends.github import GithubOAuth2
from social_core.backends.oauth import BaseOAuth2PKCE

from oauth_accounts import conf
from oauth_accounts.backends.base import LiaisonBackendMixin
from oauth_accounts.exceptions import RevokeUnsupported

API_VERSION = "2022-11-28"


class GitHubBackend(LiaisonBackendMixin, GithubOAuth2, BaseOAuth2PKCE):
    name = "github"
    title = "GitHub"
    service = "github"
    credential_settings = ("OAUTH_GITHUB_CLIENT_ID", "OAUTH_GITHUB_CLIENT_SECRET")
    revoke_needs_live_access_token = True

    @classmethod
    def configured_credentials(cls) -> tuple[str, str]:
        return conf.github_client_id(), conf.github_client_secret()

    def provider_settings(self) -> dict[str, Any]:
        return {"SCOPE": conf.github_scopes()}

    def _user_data(self, access_token: str, path: str | None = None) -> Any:
        return self.get_json(
            f"{self.api_url()}user{path or ''}",
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
        )

    def revoke_issued_tokens(self, *, access_token: str | None, refresh_token: str | None) -> None:
        if not access_token:
            raise RevokeUnsupported("GitHub revokes a token by access token; none was issued")
        client_id, client_secret = self.configured_credentials()
        self.http(
            "DELETE",
            f"{self.api_url()}applications/{client_id}/token",
            auth=(client_id, client_secret),
            json={"access_token": access_token},
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
        )

    def revoke_grant(self, *, access_token: str | None, refresh_token: str | None) -> None:
        if not access_token:
            raise RevokeUnsupported("GitHub revokes a grant by access token; none is stored")
        client_id, client_secret = self.configured_credentials()
        self.http(
            "DELETE",
            f"{self.api_url()}applications/{client_id}/grant",
            auth=(client_id, client_secret),
            json={"access_token": access_token},
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
        )
