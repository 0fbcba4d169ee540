"""End to end against a REAL OpenID Connect provider (django-oauth-toolkit, separate process on
127.0.0.1): a logged-in user connects through real HTTP redirects (authorization code + PKCE),
sees the account, the token is refreshed, and disconnecting revokes it at the provider.

Bounded in time (every HTTP call has a timeout; the provider must answer within 30 s) and the
provider process is stopped by PID.
"""

from __future__ import annotations

import json
import os
import re
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
from django.db import connection
from django.test import Client
from social_django.models import UserSocialAuth

from oauth_accounts.models import ConnectedAccount
from oauth_accounts.services import oauth_token_refresh
from tests.conftest import REPO_ROOT, stop_process
from tests.oauth_accounts.factories import make_user

PORT_RANGE = range(18300, 18400)
TIMEOUT = 10


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    username: str
    password: str
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18300-18399")


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def provider(live_server: Any, tmp_path: Path) -> Iterator[Provider]:
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    values = {
        "PROVIDER_SECRET_KEY": secrets.token_urlsafe(40),
        "PROVIDER_DB": str(tmp_path / "provider.sqlite3"),
        "PROVIDER_ISSUER": issuer,
        "PROVIDER_RSA_KEY": _rsa_pem(),
        "PROVIDER_PORT": str(port),
        "PROVIDER_CLIENT_ID": f"liaison-{secrets.token_hex(6)}",
        "PROVIDER_CLIENT_SECRET": secrets.token_urlsafe(32),
        "PROVIDER_REDIRECT_URI": f"{live_server.url}/oauth/complete/oidc/",
        "PROVIDER_USERNAME": "ada",
        "PROVIDER_PASSWORD": secrets.token_urlsafe(12),
        "PROVIDER_EMAIL": "ada@provider.example",
    }
    env = {**os.environ, **values}
    env.pop("DATABASE_URL", None)
    log = (tmp_path / "provider.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "provider_server" / "serve.py")],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"provider exited: {(tmp_path / 'provider.log').read_text()}")
            try:
                ready = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok
            except requests.RequestException:
                ready = False
            if ready:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("provider did not start within 30 s")
            time.sleep(0.2)
        yield Provider(
            issuer=issuer,
            client_id=values["PROVIDER_CLIENT_ID"],
            client_secret=values["PROVIDER_CLIENT_SECRET"],
            username=values["PROVIDER_USERNAME"],
            password=values["PROVIDER_PASSWORD"],
            process=process,
        )
    finally:
        stop_process(process)
        log.close()


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = (value.group(1) if value else "").replace("&amp;", "&")
    return fields


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def _userinfo_status(provider: Provider, access_token: str) -> int:
    return requests.get(
        f"{provider.issuer}/userinfo/",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    ).status_code


@pytest.mark.django_db(transaction=True)
def test_connect_refresh_and_disconnect_against_a_real_oidc_provider(
    live_server: Any, provider: Provider, settings: Any
) -> None:
    settings.OAUTH_OIDC_ISSUER = provider.issuer
    settings.OAUTH_OIDC_CLIENT_ID = provider.client_id
    settings.OAUTH_OIDC_CLIENT_SECRET = provider.client_secret
    settings.OAUTH_OIDC_TITLE = "Test IdP"
    settings.OAUTH_GOOGLE_CLIENT_ID = settings.OAUTH_GITHUB_CLIENT_ID = ""
    settings.INTEGRATIONS_SERVICES = {"oidc": {"read_timeout": 10.0}}
    # Plain http on loopback: cookies must not be marked Secure.
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False
    user = make_user("liaison-user")
    login = Client()
    login.force_login(user)
    browser = requests.Session()
    browser.cookies.set("sessionid", login.cookies["sessionid"].value, domain="localhost.local")
    browser.cookies.set("sessionid", login.cookies["sessionid"].value, domain="localhost")
    base = live_server.url

    # 1. The connections page offers the provider; Connect is a POST with CSRF.
    page = browser.get(f"{base}/connections/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Connect Test IdP" in page.text
    # 2. Liaison redirects to the provider, which asks us to sign in.
    signin = browser.post(
        f"{base}/oauth/login/oidc/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "next": "/connections/"},
        headers={"Referer": f"{base}/connections/"},
        timeout=TIMEOUT,
    )
    assert signin.url.startswith(provider.issuer.removesuffix("/o")), signin.url
    assert "/accounts/login/" in signin.url
    authorize_url = signin.history[0].headers["Location"]
    assert authorize_url.startswith(f"{provider.issuer}/authorize/")
    assert "code_challenge_method=S256" in authorize_url
    # 3. Sign in at the provider, then approve.
    consent = browser.post(
        signin.url,
        data={
            "csrfmiddlewaretoken": _csrf(signin.text),
            "username": provider.username,
            "password": provider.password,
            **{k: v for k, v in _hidden_fields(signin.text).items() if k == "next"},
        },
        timeout=TIMEOUT,
    )
    assert "/o/authorize/" in consent.url, consent.text[:500]
    fields = _hidden_fields(consent.text)
    assert fields["code_challenge_method"] == "S256"
    assert fields["code_challenge"]
    back = browser.post(
        consent.url,
        data={**fields, "allow": "Authorize"},
        timeout=TIMEOUT,
    )
    # 4. Back on Liaison's connections page with the account listed.
    assert back.url == f"{base}/connections/", back.text[:800]
    assert "Connected your Test IdP account" in back.text
    assert "Ada Provider" in back.text
    assert "oa-status--active" in back.text

    account = ConnectedAccount.objects.get(user=user, provider="oidc")
    first_access, first_refresh = account.access_token, account.refresh_token
    assert first_access
    assert first_refresh
    assert account.email == "ada@provider.example"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM liaison_oauth_connectedaccount WHERE id=%s",
            [account.pk],
        )
        raw_access, raw_refresh = cursor.fetchone()
    assert first_access not in raw_access
    assert first_refresh not in raw_refresh
    assert _userinfo_status(provider, first_access) == 200
    extra_data = UserSocialAuth.objects.get(user=user, provider="oidc").extra_data
    assert not {"access_token", "refresh_token", "id_token"} & set(extra_data)
    assert first_access not in json.dumps(extra_data)

    # 5. Refresh at the real provider: new access token, rotated refresh token.
    account = oauth_token_refresh(account_id=account.pk, force=True)
    assert account.access_token != first_access
    assert account.refresh_token not in (None, first_refresh)
    assert _userinfo_status(provider, account.access_token) == 200

    # 6. Disconnect (confirmation step, POST + CSRF): revoked at the provider, gone locally.
    confirm = browser.get(f"{base}/connections/{account.pk}/disconnect/", timeout=TIMEOUT)
    done = browser.post(
        confirm.url,
        data={"csrfmiddlewaretoken": _csrf(confirm.text)},
        headers={"Referer": confirm.url},
        timeout=TIMEOUT,
    )
    assert "access was revoked at Test IdP" in done.text, done.text[:800]
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()
    assert _userinfo_status(provider, account.access_token) == 401
    refreshed_after_revoke = requests.post(
        f"{provider.issuer}/token/",
        data={"grant_type": "refresh_token", "refresh_token": account.refresh_token},
        auth=(provider.client_id, provider.client_secret),
        timeout=TIMEOUT,
    )
    assert refreshed_after_revoke.status_code == 400
