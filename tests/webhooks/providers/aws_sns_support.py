"""Test support for AWS SNS: a locally generated signing certificate and an SNS-style signer.

The signer builds the string to sign from AWS's documented rules on its own
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html),
never with the module under test, so a canonical string both get wrong cannot pass. Keys and
certificates are made per test session with `cryptography` and never written to the
repository.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws_sns"
CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"

# AWS's documented orders (Subject only on notifications, and only when present).
_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


@dataclass(frozen=True)
class SigningCertificate:
    key: rsa.RSAPrivateKey
    pem: bytes

    @property
    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")


def make_certificate(
    *, not_before: datetime | None = None, not_after: datetime | None = None
) -> SigningCertificate:
    """A self-signed (CA-less) RSA certificate, valid 2000-2100 unless told otherwise."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(not_after or datetime(2100, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return SigningCertificate(key=key, pem=certificate.public_bytes(serialization.Encoding.PEM))


def expired_certificate() -> SigningCertificate:
    now = datetime.now(tz=UTC)
    return make_certificate(not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))


def string_to_sign(message: dict[str, Any]) -> bytes:
    keys = _NOTIFICATION if message["Type"] == "Notification" else _CONFIRMATION
    text = "".join(f"{key}\n{message[key]}\n" for key in keys if key in message)
    return text.encode("utf-8")


def sign_message(
    message: dict[str, Any],
    certificate: SigningCertificate,
    *,
    version: str = "2",
    cert_url: str = CERT_URL,
) -> dict[str, Any]:
    """`message` with SignatureVersion, SigningCertURL and Signature set as SNS sets them."""
    signed = {**message, "SignatureVersion": version, "SigningCertURL": cert_url}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303  # nosec B303
    signature = certificate.key.sign(string_to_sign(signed), padding.PKCS1v15(), digest)
    signed["Signature"] = base64.b64encode(signature).decode("ascii")
    return signed


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    message.update(changes)
    return message


def ses_notification(**changes: Any) -> dict[str, Any]:
    """The documented notification carrying AWS's documented SES bounce as its Message."""
    inner = (FIXTURES / "ses_bounce_message.json").read_text(encoding="utf-8")
    message = fixture("notification.json", Message=json.dumps(json.loads(inner)), **changes)
    del message["Subject"]
    return message


def body_of(message: dict[str, Any]) -> bytes:
    return json.dumps(message, indent=2).encode("utf-8")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
