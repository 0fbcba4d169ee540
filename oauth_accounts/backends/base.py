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
  call time, and a provider is *enabled* only when those are set;
- `revoke_grant()`: end the whole grant at the provider (subclasses say how).

State is social-core 7's per-flow transaction: each authorization start gets its own random
state, stored in the session and as a single-use nonce row; the callback consumes it, so a
second tab gets its own state and a replayed callback fails with `AuthSessionError`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from requests import Response
from social_core.exceptions import AuthProviderError, ErrorStage

from integrations.core.exceptions import (
    ClientError,
    IntegrationError,
    RateLimitExceeded,
    ServiceUnavailable,
    Timeout,
)
from integrations.outbound.http import ServiceClient

if TYPE_CHECKING:
    from social_core.backends.base import BaseAuth

USER_AGENT = "Liaison (+oauth_accounts)"

# Settings a deployment must not be able to weaken.
_FORCED_SETTINGS: dict[str, Any] = {
    "USE_PKCE": True,
    "PKCE_CODE_CHALLENGE_METHOD": "S256",
}


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


class RevokeUnsupported(Exception):
    """The provider publishes no way to revoke (e.g. no `revocation_endpoint`)."""


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
