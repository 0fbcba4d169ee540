"""Real-browser fixtures: Debian's chromium driven by Playwright against `live_server`.

Playwright's own browser download does not work on these machines, so the browser is the
system's `/usr/bin/chromium` (tests/conftest.py skips `browser` tests, with the reason, when it
or the playwright package is missing). The background-networking switches keep chromium from
calling Google services, which this machine's closed network refuses.

Why DJANGO_ALLOW_ASYNC_UNSAFE: Playwright's sync API runs an asyncio event loop in the test's
thread, and Django refuses ORM calls from a thread with a running loop
(SynchronousOnlyOperation). These tests call the ORM only from plain synchronous test code
between browser steps, so the check is switched off for the browser tests alone, for the
time the browser exists (without it, the test database setup itself fails).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache

from integrations.outbound.resilience.testing import isolated_state
from tests.conftest import REPO_ROOT, stop_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Ports of the locally served OAuth provider (this suite's own range).
PROVIDER_PORTS = range(18550, 18600)
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per test module. Module scope, not session: Playwright's event loop (and the
    switched-off async check, see the module docstring) must not outlive the browser tests."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server: Any, settings: Any) -> Any:
    """The live server, over plain http on loopback (cookies must not be marked Secure)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    # Login rate-limit counters and cached endpoints from other tests must not leak in.
    cache.clear()
    return live_server


@pytest.fixture
def fresh_outbound_state() -> Iterator[str]:
    """Fresh breakers/metrics under a new key prefix, seen by the live server thread too (same
    process, or Redis). The real clock: the page shows when the breaker will retry, so it must
    be the live server's time."""
    with isolated_state() as prefix:
        yield prefix


@pytest.fixture
def page(chromium: Any, site: Any) -> Iterator[Any]:
    context = chromium.new_context(base_url=site.url, viewport={"width": 1480, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def admin_login(page: Any, username: str, password: str) -> None:
    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


@dataclass
class Provider:
    issuer: str
    title: str
    username: str
    password: str


def _free_port() -> int:
    for port in PROVIDER_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PROVIDER_PORTS.start}-{PROVIDER_PORTS.stop - 1}")


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def oidc_provider(site: Any, settings: Any, tmp_path: Path) -> Iterator[Provider]:
    """The django-oauth-toolkit OpenID provider of tests/oauth_accounts, in its own process on
    127.0.0.1, configured as Liaison's OIDC provider; stopped by PID afterwards."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    client_id = f"liaison-{secrets.token_hex(6)}"
    client_secret = secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "PROVIDER_SECRET_KEY": secrets.token_urlsafe(40),
        "PROVIDER_DB": str(tmp_path / "provider.sqlite3"),
        "PROVIDER_ISSUER": issuer,
        "PROVIDER_RSA_KEY": _rsa_pem(),
        "PROVIDER_PORT": str(port),
        "PROVIDER_CLIENT_ID": client_id,
        "PROVIDER_CLIENT_SECRET": client_secret,
        "PROVIDER_REDIRECT_URI": f"{site.url}/oauth/complete/oidc/",
        "PROVIDER_USERNAME": "ada",
        "PROVIDER_PASSWORD": password,
        "PROVIDER_EMAIL": "ada@provider.example",
    }
    env.pop("DATABASE_URL", None)
    log_path = tmp_path / "provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "tests/oauth_accounts/provider_server/serve.py")],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(process, issuer, log_path)
            settings.OAUTH_OIDC_ISSUER = issuer
            settings.OAUTH_OIDC_CLIENT_ID = client_id
            settings.OAUTH_OIDC_CLIENT_SECRET = client_secret
            settings.OAUTH_OIDC_TITLE = "Test IdP"
            settings.OAUTH_GOOGLE_CLIENT_ID = settings.OAUTH_GITHUB_CLIENT_ID = ""
            settings.INTEGRATIONS_SERVICES = {"oidc": {"read_timeout": 10.0}}
            yield Provider(issuer=issuer, title="Test IdP", username="ada", password=password)
        finally:
            stop_process(process)


def _wait_until_ready(process: subprocess.Popen[bytes], issuer: str, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"provider exited: {log_path.read_text()}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("provider did not start within 30 s")
        time.sleep(0.2)
