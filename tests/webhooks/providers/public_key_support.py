"""Endpoint material for the providers whose senders sign with a private key (AWS SNS,
Ed25519, Discord), for the tests that sign and verify every provider the same way
(`test_registry`, `test_samples`).

`endpoint_secrets_for(provider_id)` gives an `EndpointSecrets` whose options let the
provider's `sign()` sign a test delivery and whose key (or, for SNS, the signing certificate
put in the Django cache under its URL, as if fetched) lets `verify()` check it with no network
call; None for every other provider. Keys are generated per test session, never committed.
"""

from __future__ import annotations

from functools import cache

from django.core.cache import cache as django_cache
from nacl.signing import SigningKey

from tests.webhooks.providers.aws_sns_support import CERT_URL, SigningCertificate, make_certificate
from webhooks.providers.base import EndpointSecrets
from webhooks.providers.sns_certificates import _cache_key


@cache
def _sns_certificate() -> SigningCertificate:
    return make_certificate()


@cache
def _ed25519_key() -> SigningKey:
    return SigningKey.generate()


def endpoint_secrets_for(provider_id: str) -> EndpointSecrets | None:
    if provider_id == "aws_sns":
        certificate = _sns_certificate()
        django_cache.set(_cache_key(CERT_URL), certificate.pem, 3600)
        return EndpointSecrets(
            options={"test_private_key": certificate.private_pem, "test_signing_cert_url": CERT_URL}
        )
    if provider_id in ("ed25519", "discord"):
        key = _ed25519_key()
        return EndpointSecrets(
            public_key=key.verify_key.encode().hex(),
            options={"test_private_key": bytes(key).hex()},
        )
    return None
