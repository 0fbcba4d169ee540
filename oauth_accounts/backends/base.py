"""What every Liaison OAuth backend shares, on top of social-core's OAuth2 flow.

social-core runs the authorization-code flow (state, token exchange, profile, pipeline). A
Liaison backend adds, once for all providers:

- every HTTP call goes through the resilient client (`integrations.outbound.http.ServiceClient`:
  breaker, rate limiter, retries, metrics, redaction) instead of bare `requests`; its typed
  errors are translated at this one boundary into social-core's exceptions, keeping the
  original as `__cause__` so callers can tell "breaker open" from "provider said no";
- PKCE with S256 is always on (`USE_PKCE` and the challenge method cannot be switched off by
  a setting);
- credentials, scopes and extra authorization parameters come from `oauth_accounts.conf` at
  call time (`OAUTH_<PROVIDER>_AUTH_EXTRA_ARGUMENTS` merged over the provider's own; a
  parameter the flow's security rests on — state, PKCE, redirect URI, nonce — cannot be set
  that way), and a provider is *enabled* only when those are set;
- one token-endpoint client authentication for code exchange, refresh and revocation:
  `use_basic_auth()` (OIDC: from `token_endpoint_auth_methods_supported`, `client_secret_basic`
  preferred, `client_secret_post` otherwise) — social-core's refresh always put the secret in
  the body;
- RFC 9207: the callback's `iss` must name the provider's issuer when it sends one, and must
  be present when the provider advertises `authorization_response_iss_parameter_supported`;
- a link refused by the pipeline (the provider account belongs to another user) comes after
  the code was exchanged: the tokens just issued are revoked before the error is shown;
- `revoke_grant()`: end the whole grant at the provider (subclasses say how).

State is social-core 7's per-flow transaction: each authorization start gets its own random
state, stored in the session and as a single-use nonce row; the callback consumes it, so a
second tab gets its own state and a replayed callback fails with `AuthSessionError`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from requests import Response
from requests.auth import AuthBase, HTTPBasicAuth
from social_core.exceptions import (
    AuthAssociationError,
    AuthConfigurationError,
    AuthProviderError,
    AuthResponseError,
    ErrorStage,
    SocialAuthBaseException,
)

from integrations.core.exceptions import (
    ClientError,
    IntegrationError,
    RateLimitExceeded,
    ServiceUnavailable,
    Timeout,
)
from integrations.outbound.http import ServiceClient
from oauth_accounts import conf
from oauth_accounts.exceptions import RevokeUnsupported

if TYPE_CHECKING:
    from social_core.backends.base import BaseAuth

USER_AGENT = "Liaison (+oauth_accounts)"

# Settings a deployment must not be able to weaken.
_FORCED_SETTINGS: dict[str, Any] = {
    "USE_PKCE": True,
    "PKCE_CODE_CHALLENGE_METHOD": "S256",
}
# Authorization-request parameters that extra arguments must not replace.
RESERVED_AUTH_PARAMETERS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "scope",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)

logger = logging.getLogger(__name__)


class LiaisonBackendMixin:
    """Mixed in *before* the social-core backend class (so its methods win in the MRO)."""

    # ServiceClient service name (breaker, limiter and metrics are per service).
    service: ClassVar[str] = ""
    # Environment variables to name in configuration hints.
    credential_settings: ClassVar[tuple[str, ...]] = ()
    # True when revoke_grant() needs an access token that has not expired yet.
    revoke_needs_live_access_token: ClassVar[bool] = False

    name: str
    strategy: Any

    # --- configuration ------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def configured_credentials(cls) -> tuple[str, str]:
        """(client id, client secret) as configured right now."""

    @classmethod
    def is_configured(cls) -> bool:
        client_id, client_secret = cls.configured_credentials()
        return bool(client_id and client_secret)

    @classmethod
    def display_title(cls) -> str:
        return str(getattr(cls, "title", "") or cls.name)

    def provider_settings(self) -> dict[str, Any]:
        """Per-provider values for social-core's `setting()` lookups (scopes, extra args)."""
        return {}

    def setting(self, name: str, default: Any = None) -> Any:
        if name in _FORCED_SETTINGS:
            return _FORCED_SETTINGS[name]
        if name in ("KEY", "SECRET"):
            client_id, client_secret = self.configured_credentials()
            return client_id if name == "KEY" else client_secret
        overrides = self.provider_settings()
        if name in overrides:
            return overrides[name]
        return self.strategy.setting(name, default=default, backend=self)

    def auth_extra_arguments(self) -> dict[str, str]:
        """The provider's own extra authorization parameters, then
        `OAUTH_<PROVIDER>_AUTH_EXTRA_ARGUMENTS` over them."""
        arguments = dict(super().auth_extra_arguments())  # type: ignore[misc]
        configured = conf.auth_extra_arguments(self.name)
        reserved = sorted(set(configured) & RESERVED_AUTH_PARAMETERS)
        if reserved:
            raise AuthConfigurationError(
                self._as_backend(),
                f"OAUTH_{self.name.upper()}_AUTH_EXTRA_ARGUMENTS may not set {', '.join(reserved)}",
                code="invalid_setting",
                parameter=f"OAUTH_{self.name.upper()}_AUTH_EXTRA_ARGUMENTS",
                stage="begin",
            )
        arguments.update(configured)
        return arguments

    # --- token endpoint client authentication ---------------------------------------------

    def use_basic_auth(self) -> bool:
        """True: `client_secret_basic` (HTTP Basic); False: `client_secret_post` (in the body).
        The same answer for code exchange, refresh and revocation."""
        return bool(super().use_basic_auth())  # type: ignore[misc]

    def client_auth(self) -> tuple[tuple[str, str] | None, dict[str, str]]:
        """(Basic credentials or None, form fields to add) for a token-endpoint request."""
        client_id, client_secret = self.configured_credentials()
        if self.use_basic_auth():
            return (client_id, client_secret), {}
        return None, {"client_id": client_id, "client_secret": client_secret}

    def refresh_token_params(self, token: str, *args: Any, **kwargs: Any) -> dict[str, str]:
        params = dict(super().refresh_token_params(token, *args, **kwargs))  # type: ignore[misc]
        if self.use_basic_auth():
            params.pop("client_id", None)
            params.pop("client_secret", None)
        return params

    def refresh_token_auth(self) -> AuthBase | None:
        if self.use_basic_auth():
            client_id, client_secret = self.configured_credentials()
            return HTTPBasicAuth(client_id, client_secret)
        return None

    # --- callback checks -------------------------------------------------------------------

    def authorization_response_issuer(self) -> tuple[str, bool]:
        """(issuer the callback's `iss` must equal, whether `iss` is required); an empty issuer
        means the provider names none and nothing is checked."""
        return "", False

    def validate_authorization_response_issuer(self) -> None:
        """RFC 9207 §2.4: refuse a callback whose `iss` is another issuer's (mix-up attack),
        or that lacks `iss` from a provider that advertises sending it. Runs before the code
        is sent anywhere."""
        expected, required = self.authorization_response_issuer()
        if not expected:
            return
        data = getattr(self, "data", None) or {}
        received = data.get("iss")
        if not received:
            if required:
                raise AuthResponseError(
                    self._as_backend(),
                    "the authorization response has no iss parameter",
                    code="missing_claim",
                    claim="iss",
                    stage="callback",
                )
            return
        if received != expected:
            raise AuthResponseError(
                self._as_backend(),
                "the authorization response names another issuer",
                code="invalid_claim",
                claim="iss",
                stage="callback",
            )

    def auth_complete(self, *args: Any, **kwargs: Any) -> Any:
        self.validate_authorization_response_issuer()
        return super().auth_complete(*args, **kwargs)  # type: ignore[misc]

    def do_auth(self, access_token: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().do_auth(access_token, *args, **kwargs)  # type: ignore[misc]
        except AuthAssociationError:
            response = kwargs.get("response") or {}
            self.revoke_refused_link(
                access_token=response.get("access_token") or access_token,
                refresh_token=response.get("refresh_token"),
            )
            raise

    def revoke_refused_link(self, *, access_token: Any, refresh_token: Any) -> bool:
        """End the tokens of an exchange whose link was refused. Never raises for provider
        failures (the user still sees why linking was refused); True when revoked."""
        try:
            self.revoke_issued_tokens(
                access_token=access_token if isinstance(access_token, str) else None,
                refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            )
        except RevokeUnsupported as exc:
            logger.warning(
                "oauth_refused_link_not_revoked", extra={"provider": self.name, "reason": str(exc)}
            )
            return False
        except (IntegrationError, SocialAuthBaseException) as exc:
            logger.warning(
                "oauth_refused_link_revoke_failed",
                extra={"provider": self.name, "reason": type(exc).__name__},
            )
            return False
        logger.info("oauth_refused_link_revoked", extra={"provider": self.name})
        return True

    def revoke_issued_tokens(self, *, access_token: str | None, refresh_token: str | None) -> None:
        """Revoke the tokens one code exchange issued (default: as `revoke_grant`). A provider
        whose revocation ends every grant of the user for this app overrides this, so refusing
        a second link does not end the first."""
        self.revoke_grant(access_token=access_token, refresh_token=refresh_token)

    # --- HTTP through the resilient client ------------------------------------------------

    def request(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str | bytes] | None = None,
        data: Any = None,
        json: Any = None,
        auth: Any = None,
        params: Any = None,
        timeout: float | None = None,
        stage: ErrorStage = "user_info",
    ) -> Response:
        """social-core's single HTTP hook, routed through `ServiceClient`."""
        try:
            return self.http(
                method,
                url,
                headers=headers,
                data=data,
                json=json,
                auth=auth,
                params=params,
                timeout=timeout,
            )
        except ClientError as exc:
            classified = self.get_provider_error(  # type: ignore[attr-defined]
                exc.payload, stage=stage, status_code=exc.status
            )
            if classified is None:
                classified = AuthProviderError(
                    self._as_backend(), code="http_error", stage=stage, status_code=exc.status
                )
            raise classified from exc
        except IntegrationError as exc:
            raise AuthProviderError(
                self._as_backend(),
                code=_provider_error_code(exc),
                stage=stage,
                status_code=exc.status,
            ) from exc

    def _as_backend(self) -> BaseAuth[object]:
        return cast("BaseAuth[object]", self)

    def http(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str | bytes] | None = None,
        **kwargs: Any,
    ) -> Response:
        """One call through the resilient client; raises `integrations.core.exceptions` errors."""
        sent_headers = {"User-Agent": USER_AGENT}
        for name, value in (headers or {}).items():
            sent_headers[name] = value.decode() if isinstance(value, bytes) else value
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
        if method.upper() == "POST":
            # Token, refresh and revoke POSTs may be retried after a connection error, 5xx or
            # 429: repeating them is harmless (a used code or rotated token fails cleanly).
            kwargs.setdefault("idempotency_key", True)
        return ServiceClient(self.service).request(method, url, headers=sent_headers, **kwargs)

    # --- revocation ----------------------------------------------------------------------

    @abstractmethod
    def revoke_grant(self, *, access_token: str | None, refresh_token: str | None) -> None:
        """End the grant at the provider. Raises an `IntegrationError` when the provider did
        not confirm, `RevokeUnsupported` when the provider has no revocation endpoint."""


def _provider_error_code(exc: IntegrationError) -> str:
    if isinstance(exc, ServiceUnavailable):
        return "unavailable"
    if isinstance(exc, RateLimitExceeded):
        return "rate_limited"
    if isinstance(exc, Timeout):
        return "timeout"
    if exc.status is not None and exc.status >= 500:
        return "unavailable"
    return "connection_failed"
