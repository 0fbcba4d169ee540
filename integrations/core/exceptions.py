"""Exception roots of Liaison (`integrations.core`), shared by every app.

One root per concern. Configuration errors subclass Django's `ImproperlyConfigured` and sit
outside the roots on purpose, so a broad `except IntegrationError` cannot swallow them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class EncryptionError(Exception):
    """Root of encrypted-field failures."""


class DecryptionError(EncryptionError):
    """A stored value that no key in FIELD_ENCRYPTION_KEYS can decrypt.

    Raised instead of returning the ciphertext, so wrong keys fail loudly.
    """

    def __init__(self, *, model: str, field: str, pk: object = None) -> None:
        self.model = model
        self.field = field
        self.pk = pk
        where = f"{model}.{field}" + (f" (pk={pk})" if pk is not None else "")
        super().__init__(
            f"Cannot decrypt {where}: no key in FIELD_ENCRYPTION_KEYS matches the stored value. "
            "Was a key removed before `manage.py rotate_encryption_keys` ran?"
        )


class EncryptionKeyError(ImproperlyConfigured):
    """FIELD_ENCRYPTION_KEYS is missing or holds something that is not a Fernet key."""


# --- outbound calls (integrations.outbound) ----------------------------------------------


class IntegrationError(Exception):
    """Root of every failure of an outbound call to a third-party service.

    Carries where the call went (`service`, `method`, `url` with secret query parameters
    redacted), the HTTP `status` when there was a response, and the provider's request id when
    it sent one. Messages and reprs never contain credentials. `retryable` says whether the same
    call may succeed later (the `RetryableError` subclasses) or will fail again (`ClientError`).
    """

    retryable = False

    def __init__(
        self,
        message: str = "",
        *,
        service: str = "",
        method: str = "",
        url: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.service = service
        self.method = method
        self.url = url
        self.status = status
        self.request_id = request_id
        super().__init__(message or self._default_message())

    def _default_message(self) -> str:
        target = " ".join(part for part in (self.service, self.method, self.url) if part)
        status = f" -> {self.status}" if self.status is not None else ""
        request_id = f" (request id {self.request_id})" if self.request_id else ""
        return f"{type(self).__name__}: {target}{status}{request_id}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only context would be lost by Exception's default pickling (Celery, caches).
        return (_restore_integration_error, (type(self), self.args, dict(self.__dict__)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(service={self.service!r}, method={self.method!r}, "
            f"url={self.url!r}, status={self.status!r}, request_id={self.request_id!r})"
        )


def _restore_integration_error(
    cls: type[IntegrationError], args: tuple[Any, ...], state: dict[str, Any]
) -> IntegrationError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class RetryableError(IntegrationError):
    """The same call may succeed later: the service is down, slow, or asks us to slow down."""

    retryable = True


class ServiceUnavailable(RetryableError):
    """The service's circuit breaker is open: the call was rejected without touching the network.

    `retry_at` (aware UTC datetime) is when the breaker lets a trial call through again.
    """

    def __init__(self, message: str = "", *, retry_at: datetime | None = None, **context: Any):
        self.retry_at = retry_at
        super().__init__(message, **context)

    def _default_message(self) -> str:
        when = self.retry_at.isoformat(timespec="seconds") if self.retry_at else "later"
        return f"{self.service or 'service'} unavailable: circuit breaker open, retry at {when}"


class RateLimitExceeded(RetryableError):
    """Out of budget: our own limiter would have to wait past its bound, or the provider
    answered 429 and retrying was not possible. `retry_at` says when budget is expected back."""

    def __init__(self, message: str = "", *, retry_at: datetime | None = None, **context: Any):
        self.retry_at = retry_at
        super().__init__(message, **context)


class ServerError(RetryableError):
    """The provider answered 5xx."""


class TransportError(RetryableError):
    """No usable response: connection refused or reset, TLS failure, DNS failure."""


class Timeout(TransportError):
    """The connect or read timeout elapsed."""


class ClientError(IntegrationError):
    """The provider answered 4xx (other than 429): the request itself is wrong and will fail
    again. `payload` is the parsed JSON error body (secret-named fields redacted), if any."""

    def __init__(self, message: str = "", *, payload: Any = None, **context: Any) -> None:
        self.payload = payload
        super().__init__(message, **context)


class IntegrationConfigurationError(ImproperlyConfigured):
    """A service is configured in a way the outbound layer refuses (names the setting)."""


class UnknownServiceError(IntegrationConfigurationError):
    """A service name that is neither built in nor declared in INTEGRATIONS_SERVICES."""


class InsecureURLError(IntegrationConfigurationError):
    """A plain-http URL for a host that is not loopback, or a URL that is not http(s) at all."""
