"""AWS SNS signing certificates: which URLs may be fetched, fetching them once, checking them.

An SNS message names the URL of the certificate that signed it (`SigningCertURL`). Anyone can
post a message naming *their* certificate, so the URL is the whole trust decision: it is
checked before any network call (`sns_url_check`) and must be `https://<host>/<name>.pem`
where the lower-cased host fully matches `WEBHOOKS_SNS_CERT_HOST_PATTERN` (by default
`sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn`); userinfo, ports, a query,
a fragment, backslashes, whitespace or control characters are refused. Look-alike hosts
(`sns.us-east-1.amazonaws.com.evil.com`, `evilsns.us-east-1.amazonaws.com`) fail the full
match. Plain http and a port are admitted only for a loopback host, which the default pattern
never matches (tests point the setting at a local server). The same check guards the
`SubscribeURL` a SubscriptionConfirmation is confirmed with (no `.pem` there).

A certificate is fetched through the resilient outbound client (`ServiceClient("aws_sns")`:
timeouts, retries, breaker, rate limit; no redirects followed), at most 16 KiB, and kept in the
Django cache (shared with every process when it is Redis) and in-process, for
`WEBHOOKS_SNS_CERT_CACHE_SECONDS` but never past the certificate's own expiry. It must be a PEM
X.509 certificate with an RSA key whose validity period covers the moment of the delivery
(checked on every use, cached or not). A URL AWS answers with 4xx or a redirect is not a certificate
of SNS's (`SignatureInvalid`, 400); a fetch that fails otherwise (timeout, 5xx, breaker open,
rate limit) raises `SnsCertificateUnavailable` (a `WebhookConfigurationError`: the receive view
answers 503 and SNS retries).

Docs: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
(SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, PKCS #1 v1.5).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from integrations.core.exceptions import ClientError, IntegrationError
from integrations.outbound.http import ServiceClient
from webhooks import conf, signing
from webhooks.exceptions import (
    SignatureInvalid,
    SnsCertificateUnavailable,
    SnsUrlRefused,
    WebhookConfigurationError,
)

logger = logging.getLogger(__name__)

# The outbound service certificates and subscription confirmations are fetched through.
SERVICE = "aws_sns"
MAX_URL_LENGTH = 2048
MAX_CERTIFICATE_BYTES = 16 * 1024
_CACHE_PREFIX = "liaison_webhooks:sns_cert:v1:"
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
# AWS serves its certificates as one file at the host's root: SimpleNotificationService-<hex>.pem.
_PEM_PATH = re.compile(r"/[A-Za-z0-9][A-Za-z0-9_-]{0,200}\.pem")
_LOCAL_MAX = 64

_local: dict[str, tuple[float, x509.Certificate]] = {}
_local_lock = threading.Lock()


def sns_url_check(url: object, *, what: str, require_pem: bool) -> str:
    """`url` when it is an allowed SNS URL, else `SnsUrlRefused` naming `what`. No I/O."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise SnsUrlRefused(f"The {what} is missing or too long.")
    if _UNSAFE.search(url):
        raise SnsUrlRefused(f"The {what} contains whitespace, control characters or '\\'.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise SnsUrlRefused(f"The {what} is not a valid URL.") from None
    if "@" in parts.netloc:
        raise SnsUrlRefused(f"The {what} carries credentials.")
    if not _host_pattern(conf.sns_cert_host_pattern()).fullmatch(host):
        raise SnsUrlRefused(f"The {what} host is not an Amazon SNS host.")
    loopback = _is_loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SnsUrlRefused(f"The {what} does not use https.")
    expected_netloc = f"{host}:{port}" if port is not None and loopback else host
    if parts.netloc.lower() != expected_netloc:
        raise SnsUrlRefused(f"The {what} names a port or an unusual host form.")
    if parts.fragment:
        raise SnsUrlRefused(f"The {what} has a fragment.")
    if require_pem and (parts.query or not parts.path.startswith("/")):
        raise SnsUrlRefused(f"The {what} has a query or no path.")
    if require_pem and not _PEM_PATH.fullmatch(parts.path):
        raise SnsUrlRefused(f"The {what} is not a .pem file at the host's root.")
    return url


@lru_cache(maxsize=8)
def _host_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise WebhookConfigurationError(
            f"WEBHOOKS_SNS_CERT_HOST_PATTERN is not a valid regular expression: {exc}"
        ) from exc


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only tests serve certificates there."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sns_certificate_public_key(url: str, *, now: float) -> rsa.RSAPublicKey:
    """The RSA key of the certificate at `url` (checked, cached, fetched when needed)."""
    sns_url_check(url, what="SigningCertURL", require_pem=True)
    certificate = _cached_certificate(url) or _fetch_certificate(url)
    moment = datetime.fromtimestamp(now, tz=UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise SignatureInvalid("The SNS signing certificate is not valid at this time.")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureInvalid("The SNS signing certificate does not hold an RSA key.")
    return key


def sns_signature_verify(
    key: rsa.RSAPublicKey, *, signature: bytes, message: bytes, version: str
) -> bool:
    """Whether `signature` is SHA1withRSA (version "1") or SHA256withRSA ("2") of `message`."""
    try:
        key.verify(signature, message, padding.PKCS1v15(), _hash(version))
    except (InvalidSignature, ValueError):
        return False
    return True


def sns_sign(private_pem: str, *, message: bytes, version: str) -> bytes:
    """An SNS-style signature of `message` (test deliveries only: AWS keeps its key)."""
    try:
        key = serialization.load_pem_private_key(private_pem.strip().encode("ascii"), None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise WebhookConfigurationError(
            "The test private key is not an unencrypted PEM key."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise WebhookConfigurationError("The test private key is not an RSA key.")
    return key.sign(message, padding.PKCS1v15(), _hash(version))


def sns_certificate_cache_clear() -> None:
    """Forget every certificate this process holds (tests; the Django cache is separate)."""
    with _local_lock:
        _local.clear()


def _hash(version: str) -> hashes.HashAlgorithm:
    if version == "1":
        # SignatureVersion 1 is SHA1withRSA by AWS's definition; 2 (SHA-256) is recommended.
        return hashes.SHA1()  # noqa: S303  # nosec B303
    if version == "2":
        return hashes.SHA256()
    raise SignatureInvalid("The SignatureVersion is neither 1 nor 2.")


def _cache_key(url: str) -> str:
    return _CACHE_PREFIX + signing.sha256_hex(url.encode("utf-8"))


def _cached_certificate(url: str) -> x509.Certificate | None:
    hit = _local.get(url)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    try:
        pem = cache.get(_cache_key(url))
    except Exception as exc:  # the cache is an optimisation: fetch instead
        logger.warning("webhook_sns_cert_cache_unavailable", extra={"error": type(exc).__name__})
        pem = None
    if not isinstance(pem, bytes):
        return None
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    _remember_locally(url, certificate)
    return certificate


def _fetch_certificate(url: str) -> x509.Certificate:
    try:
        response = ServiceClient(SERVICE).get(url, allow_redirects=False)
    except ClientError as exc:
        # AWS answers 4xx for a certificate it does not have: the message is not from SNS.
        raise SignatureInvalid(
            f"The SigningCertURL serves no certificate ({exc.status or 'client error'})."
        ) from exc
    except IntegrationError as exc:
        raise SnsCertificateUnavailable(
            f"The SNS signing certificate could not be fetched ({type(exc).__name__})."
        ) from exc
    except ImproperlyConfigured as exc:  # e.g. the service missing from INTEGRATIONS_SERVICES
        raise SnsCertificateUnavailable(
            f"The SNS signing certificate cannot be fetched: {exc}"
        ) from exc
    if response.status_code != 200:  # a redirect: AWS serves its certificates directly
        raise SignatureInvalid(f"The SigningCertURL answered {response.status_code}, not 200.")
    pem = response.content
    if len(pem) > MAX_CERTIFICATE_BYTES:
        raise SignatureInvalid("The SNS signing certificate is implausibly large.")
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SignatureInvalid(
            "The SigningCertURL does not serve a PEM X.509 certificate."
        ) from exc
    remaining = certificate.not_valid_after_utc.timestamp() - time.time()
    ttl = int(min(conf.sns_cert_cache_seconds(), remaining))
    if ttl > 0:
        try:
            cache.set(_cache_key(url), pem, ttl)
        except Exception as exc:
            logger.warning(
                "webhook_sns_cert_cache_unavailable", extra={"error": type(exc).__name__}
            )
        _remember_locally(url, certificate)
    logger.info("webhook_sns_cert_fetched", extra={"host": urlsplit(url).hostname})
    return certificate


def _remember_locally(url: str, certificate: x509.Certificate) -> None:
    remaining = certificate.not_valid_after_utc.timestamp() - time.time()
    ttl = min(float(conf.sns_cert_cache_seconds()), remaining)
    if ttl <= 0:
        return
    with _local_lock:
        if len(_local) >= _LOCAL_MAX:
            _local.clear()
        _local[url] = (time.monotonic() + ttl, certificate)
