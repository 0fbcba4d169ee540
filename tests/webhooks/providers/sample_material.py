"""What the provider-wide tests (`test_registry.py`, `test_samples.py`) need to sign a
provider's sample: its endpoint material, in one place. A provider whose scheme needs more
than a secret (a key pair, a served certificate) adds its entry here.

`endpoint_material(provider)` returns the `EndpointSecrets` to sign and verify with, or None
when only the provider can sign (the test then parses the sample without verifying it).
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhooks import signing
from webhooks.providers.base import EndpointSecrets, WebhookProvider

_EC_PRIVATE_PEM, _EC_PUBLIC_B64 = signing.generate_ec_key_pair()
_ED25519_SEED = secrets_module.token_bytes(32)


def _ed25519() -> EndpointSecrets:
    from webhooks.providers.ed25519 import public_key_hex

    key = Ed25519PrivateKey.from_private_bytes(_ED25519_SEED)
    return EndpointSecrets(
        public_key=public_key_hex(key), options={"test_private_key": _ED25519_SEED.hex()}
    )


MATERIAL: dict[str, Callable[[], EndpointSecrets | None]] = {
    "sendgrid": lambda: EndpointSecrets(
        public_key=_EC_PUBLIC_B64, options={"test_private_key": _EC_PRIVATE_PEM}
    ),
    "hmac": lambda: EndpointSecrets(
        secrets=("fake-generic",),
        options={"header": "X-Signature", "timestamp_header": "X-Timestamp", "id_field": "id"},
    ),
    "ed25519": _ed25519,
    "discord": _ed25519,
    # SNS signs with AWS's certificate, fetched from an allow-listed URL: its own tests cover
    # the flows with a local certificate; here the samples are parsed only.
    "aws_sns": lambda: None,
}

# Providers whose signature covers no byte of the body (a shared token, basic auth).
BODY_UNSIGNED = frozenset({"gitlab", "postmark"})


def endpoint_material(provider: WebhookProvider) -> EndpointSecrets | None:
    make = MATERIAL.get(provider.id)
    if make is not None:
        return make()
    secret = provider.generate_secret() if provider.id == "standard" else "fake-secret-value"
    return EndpointSecrets(secrets=(secret,))
