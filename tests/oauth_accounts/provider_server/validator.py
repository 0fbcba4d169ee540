"""Profile and email claims for the ID token and the userinfo endpoint."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "name": "profile",
        "preferred_username": "profile",
        "email": "email",
    }

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        return {
            "name": request.user.get_full_name() or request.user.username,
            "preferred_username": request.user.username,
            "email": request.user.email,
        }
