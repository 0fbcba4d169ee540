"""Which URLs the outbound layer will call: https, or plain http on a loopback host only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urljoin, urlsplit

from integrations.core.exceptions import InsecureURLError
from integrations.core.redaction import redact_url


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, setting: str) -> None:
    """Raise `InsecureURLError` (an `ImproperlyConfigured`) naming `setting` unless `url` is
    https, or http to a loopback host (tests and local fakes)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise InsecureURLError(f"{setting}: {redact_url(url)!r} is not an absolute http(s) URL.")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback_host(host):
        return
    raise InsecureURLError(
        f"{setting}: {redact_url(url)!r} must use https (plain http is allowed only for "
        "loopback hosts)."
    )


def check_base_url(url: str, *, setting: str) -> None:
    check_url(url, setting=setting)


def resolve_url(base_url: str, url: str, *, service: str) -> str:
    """An absolute URL for `url`: itself when absolute, else joined to the service base URL."""
    if "://" in url:
        check_url(url, setting=f"the URL passed to ServiceClient({service!r})")
        return url
    if not base_url:
        raise InsecureURLError(
            f"ServiceClient({service!r}) got the relative URL {redact_url(url)!r} but "
            f"INTEGRATIONS_SERVICES[{service!r}] has no 'base_url'; pass an absolute https URL "
            "or configure one."
        )
    if url.startswith("/") and "//" not in url and ".." not in url:
        return base_url.rstrip("/") + url  # the common case, without urljoin's cost
    return urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))
