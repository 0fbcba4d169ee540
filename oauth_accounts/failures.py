"""What to tell the user (and staff) when a connect flow fails.

Every failure of the authorization flow — consent denied, state mismatch or reuse, expired
session, provider error, provider unreachable or breaker open, misconfiguration — maps to a
`FlowFailure` shown on a clear page with a 4xx/5xx status, never an unhandled 500. When the
provider reports a configuration problem (`redirect_uri_mismatch`, `invalid_client`, ...),
staff also see exactly what to fix, including the callback URL to register.
"""

from __future__ import annotations

from dataclasses import dataclass

from social_core.exceptions import (
    AuthAssociationError,
    AuthCanceled,
    AuthConfigurationError,
    AuthCredentialError,
    AuthInputError,
    AuthPolicyError,
    AuthProviderError,
    AuthResponseError,
    AuthSessionError,
    SocialAuthBaseException,
)

from integrations.core.exceptions import IntegrationError, ServiceUnavailable

# Provider error codes that mean "the app's registration does not match its settings".
MISCONFIGURATION_CODES = frozenset(
    {
        "redirect_uri_mismatch",
        "invalid_client",
        "unauthorized_client",
        "invalid_scope",
        "unsupported_grant_type",
        "unsupported_response_type",
        "incorrect_client_credentials",
        "application_suspended",
    }
)


@dataclass(frozen=True)
class FlowFailure:
    title: str
    message: str
    status: int
    # Only shown to staff users: what to change and where.
    staff_hint: str = ""
    code: str = ""


def describe_flow_failure(
    exc: BaseException,
    *,
    provider_title: str,
    callback_url: str,
    credential_settings: tuple[str, ...],
) -> FlowFailure:
    code = ""
    provider_code = ""
    if isinstance(exc, SocialAuthBaseException):
        code = exc.code
        provider_code = str(exc.provider_code or "")
    cause = exc.__cause__ if isinstance(exc, SocialAuthBaseException) else exc
    settings_text = ", ".join(credential_settings)

    if provider_code in MISCONFIGURATION_CODES or isinstance(exc, AuthConfigurationError):
        reported = provider_code or code
        return FlowFailure(
            title=f"{provider_title} is not set up correctly",
            message=(
                f"{provider_title} refused this application ({reported}). Nothing was connected. "
                "An administrator needs to fix the provider settings."
            ),
            status=502,
            code=reported,
            staff_hint=(
                f"The provider reported '{reported}'. Check {settings_text} and register "
                f"exactly this callback (redirect) URL in the provider's console: "
                f"{callback_url}"
            ),
        )
    if isinstance(exc, AuthResponseError) and exc.claim == "iss" and exc.stage == "callback":
        # RFC 9207: the browser brought back an authorization response that does not name
        # this provider's issuer (a mix-up attack, or a proxy dropping the parameter).
        missing = exc.code == "missing_claim"
        return FlowFailure(
            title=f"This answer did not come from {provider_title}",
            message=(
                (
                    f"The authorization response does not name its issuer, which "
                    f"{provider_title} always does"
                    if missing
                    else f"The authorization response names another issuer than {provider_title}"
                )
                + ", so Liaison did not use it and nothing was connected. Please start again "
                "from your connections page."
            ),
            status=400,
            code="issuer_missing" if missing else "issuer_mismatch",
            staff_hint=(
                f"{provider_title} advertises RFC 9207 "
                "(authorization_response_iss_parameter_supported) but the callback had no iss "
                "parameter: check that no proxy strips query parameters from the callback URL."
                if missing
                else ""
            ),
        )
    if isinstance(exc, AuthCanceled):
        return FlowFailure(
            title="Connection cancelled",
            message=f"You did not grant access at {provider_title}, so nothing was connected.",
            status=403,
            code="access_denied",
        )
    if isinstance(exc, AuthAssociationError):
        return FlowFailure(
            title="Account already linked",
            message=(
                f"This {provider_title} account is already linked to another user. "
                "Disconnect it there first, or use a different account."
            ),
            status=409,
            code="identity_in_use",
        )
    if isinstance(exc, AuthSessionError | AuthInputError):
        return FlowFailure(
            title="This sign-in link is no longer valid",
            message=(
                "The authorization response does not match a connection you started in this "
                "browser: it expired, was already used (for example in another tab), or your "
                "session ended. Please start again from your connections page."
            ),
            status=400,
            code=code or "state_mismatch",
        )
    if isinstance(exc, AuthPolicyError):
        return FlowFailure(
            title="Sign in first",
            message=(
                f"Log in to Liaison before connecting a {provider_title} account; signing in "
                f"with {provider_title} is only possible for an account that is already linked "
                "and when enabled by the administrator."
            ),
            status=403,
            code=code,
        )
    if isinstance(cause, ServiceUnavailable):
        return FlowFailure(
            title=f"{provider_title} is unavailable",
            message=(
                f"{provider_title} has been failing, so Liaison paused calls to it for a "
                "moment. Nothing was connected; please try again in a few minutes."
            ),
            status=503,
            code="breaker_open",
        )
    if isinstance(exc, AuthProviderError) and getattr(exc, "stage", "") == "callback":
        # The error arrived in the browser's redirect (anyone can craft one), not from a call
        # Liaison made: a failed authorization (4xx), not an upstream failure (5xx).
        reported = provider_code or code or "error"
        return FlowFailure(
            title="Connection failed",
            message=(
                f"{provider_title} reported an error ({reported}), so nothing was connected. "
                "Please start again from your connections page."
            ),
            status=400,
            code=reported,
        )
    if isinstance(exc, AuthProviderError) or isinstance(cause, IntegrationError):
        return FlowFailure(
            title=f"{provider_title} did not respond",
            message=(
                f"Liaison could not complete the request to {provider_title} "
                f"({provider_code or code or type(cause).__name__}). Nothing was connected; "
                "please try again later."
            ),
            status=502,
            code=provider_code or code,
        )
    if isinstance(exc, AuthCredentialError):
        return FlowFailure(
            title="Authorization expired",
            message=(
                f"{provider_title} rejected the authorization code (it expired or was already "
                "used). Please start again."
            ),
            status=400,
            code=code,
        )
    if isinstance(exc, AuthResponseError):
        return FlowFailure(
            title=f"{provider_title}'s answer could not be verified",
            message=(
                f"Liaison could not verify the response from {provider_title} ({code}). "
                "Nothing was connected; please try again."
            ),
            status=502,
            code=code,
        )
    return FlowFailure(
        title="Connection failed",
        message=f"Connecting your {provider_title} account failed ({code or 'error'}).",
        status=400,
        code=code,
    )
