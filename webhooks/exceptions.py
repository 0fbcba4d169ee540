"""Exceptions of the `webhooks` app.

A rejected delivery is a `SuspiciousOperation` (Django turns it into a 400 without extra code)
or carries its own 4xx status; configuration errors subclass `ImproperlyConfigured` and sit
outside `WebhookError` on purpose, so a broad `except WebhookError` cannot swallow them.
Messages never include secrets, signatures or bodies.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation


class WebhookError(Exception):
    """Root of webhook failures."""


class DeliveryRejected(WebhookError, SuspiciousOperation):
    """The delivery must be answered with a 4xx and not stored.

    `reason` is a short, constant, machine-friendly code (counted per endpoint and hour);
    the message is safe to show to the sender.
    """

    status_code = 400
    reason = "rejected"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class SignatureMissing(DeliveryRejected):
    reason = "signature_missing"


class SignatureInvalid(DeliveryRejected):
    reason = "signature_invalid"


class TimestampOutOfTolerance(DeliveryRejected):
    reason = "timestamp_out_of_tolerance"


class MalformedPayload(DeliveryRejected):
    reason = "malformed_payload"


class PayloadTooLarge(DeliveryRejected):
    status_code = 413
    reason = "payload_too_large"


class LengthRequired(DeliveryRejected):
    """A chunked body this server cannot read to its end (no terminated input stream)."""

    status_code = 411
    reason = "length_required"


class EventStorageError(WebhookError):
    """The delivery could not be stored: answer 5xx so the provider retries."""


class TestDeliveryUnreachable(WebhookError):
    """A test delivery could not reach the server (connection refused, timeout, TLS).

    The one place `requests`' exceptions are translated for test deliveries; the admin and
    `send_test_webhook` catch this, never `requests.RequestException`.
    """

    __test__ = False  # not a pytest test class, whatever its name says


class SnsUrlRefused(SignatureInvalid):
    """A SigningCertURL or SubscribeURL outside the allow-list (nothing was fetched)."""

    reason = "sns_url_refused"


class SnsSubscriptionError(WebhookError):
    """The event cannot be confirmed (not an SNS confirmation, or its SubscribeURL refused)."""


class UnknownProvider(WebhookError, KeyError):
    """A provider id that is not in `webhooks.providers.PROVIDERS`."""


class WebhookConfigurationError(ImproperlyConfigured):
    """An endpoint or setting is unusable (e.g. no active secret, a bad public key)."""


class SnsCertificateUnavailable(WebhookConfigurationError):
    """The SNS signing certificate could not be fetched now: answer 5xx so SNS retries."""


class ProviderRegistrationError(ImproperlyConfigured):
    """A provider class cannot be registered (not a `WebhookProvider`, bad id, bad path)."""


class ProviderAlreadyRegistered(ProviderRegistrationError):
    """Another provider class already has this id (pass `replace=True` to override it)."""

    def __init__(self, message: str, *, provider_id: str) -> None:
        super().__init__(message)
        self.provider_id = provider_id


class EndpointSettingInvalid(WebhookConfigurationError):
    """One endpoint setting cannot work. `field` names it (`options`, `public_key`, `secret`),
    `option` the key inside `options` when there is one; the message names both."""

    def __init__(self, message: str, *, field: str, option: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.option = option
