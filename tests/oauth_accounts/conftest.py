"""Fixtures for oauth_accounts: configured providers, isolated resilient-client state, a fake
OpenID Connect provider (RSA key generated at test time) mocked with `responses`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, connections
from jwt.algorithms import RSAAlgorithm

from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state
from tests.oauth_accounts.factories import make_user

ISSUER = "https://idp.example.test"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_USERINFO_URL = "https://www.googleapis.com/oauth2/v3/userinfo"
GOOGLE_REVOKE_URL = "https://oauth2.googleapis.com/revoke"
GITHUB_TOKEN_URL = "https://github.com/login/oauth/access_token"
GITHUB_USER_URL = "https://api.github.com/user"
GITHUB_EMAILS_URL = "https://api.github.com/user/emails"


@dataclass
class Credentials:
    google: tuple[str, str]
    github: tuple[str, str]
    oidc: tuple[str, str]


@pytest.fixture(autouse=True)
def resilient_state() -> Iterator[FakeRuntime]:
    """Fresh breakers/limiters per test; backoff sleeps advance a fake clock."""
    runtime = FakeRuntime()
    with isolated_state(), use_runtime(runtime.as_runtime()):
        yield runtime


@pytest.fixture(autouse=True)
def fresh_discovery() -> Iterator[None]:
    """social-core caches OIDC discovery documents per class for a day: each test gets its own."""
    from oauth_accounts.backends.oidc import OIDCBackend

    OIDCBackend.get_openid_configuration.invalidate()
    yield
    OIDCBackend.get_openid_configuration.invalidate()


@pytest.fixture
def credentials(settings: Any) -> Credentials:
    creds = Credentials(
        google=("google-client-test", f"fake-secret-{secrets.token_hex(8)}"),
        github=("github-client-test", f"fake-secret-{secrets.token_hex(8)}"),
        oidc=("oidc-client-test", f"fake-secret-{secrets.token_hex(8)}"),
    )
    settings.OAUTH_GOOGLE_CLIENT_ID, settings.OAUTH_GOOGLE_CLIENT_SECRET = creds.google
    settings.OAUTH_GITHUB_CLIENT_ID, settings.OAUTH_GITHUB_CLIENT_SECRET = creds.github
    settings.OAUTH_OIDC_CLIENT_ID, settings.OAUTH_OIDC_CLIENT_SECRET = creds.oidc
    settings.OAUTH_OIDC_ISSUER = ISSUER
    settings.OAUTH_OIDC_TITLE = "Acme SSO"
    settings.OAUTH_LOGIN_WITH_PROVIDER = False
    # The resilient client must not spend the tests' time on backoff (fake clock anyway).
    settings.INTEGRATIONS_SERVICES = {
        name: {"retries": 2, "breaker_fail_max": 50, "breaker_min_calls": 50}
        for name in ("google", "github", "oidc")
    }
    return creds


@pytest.fixture
def concurrent_database(transactional_db: None, tmp_path: Path) -> Iterator[None]:
    """A database that many threads can write the way Liaison's does in production.

    On SQLite the test database lives in memory with a shared cache, where a writer that meets
    another connection's lock fails at once ("database table is locked") instead of waiting as
    it does on the file database Liaison runs on (WAL, busy timeout). For this test the default
    connection (and every connection a thread opens) uses a file copy of the test database,
    made with SQLite's backup API, with the production options. PostgreSQL: unchanged.
    """
    if connection.vendor != "sqlite":
        yield
        return
    memory = connections["default"]
    memory.ensure_connection()
    path = tmp_path / "concurrent.sqlite3"
    target = sqlite3.connect(path)
    memory.connection.backup(target)
    target.close()
    settings_dict = connections.settings["default"]
    original_name = settings_dict["NAME"]
    settings_dict["NAME"] = str(path)
    on_file = connections.create_connection("default")
    connections["default"] = on_file
    try:
        yield
    finally:
        on_file.close()
        settings_dict["NAME"] = original_name
        connections["default"] = memory


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def user(db: None) -> Any:
    return make_user("alice", email="alice@example.com")


@pytest.fixture
def logged_in(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def form_of(body: Any) -> dict[str, str]:
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    return {key: values[0] for key, values in parse_qs(text).items()}


_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeIdP:
    """Discovery, JWKS, token, userinfo and revocation of a fake OIDC provider."""

    mock: responses.RequestsMock
    client_id: str
    sub: str = "subject-1"
    email: str = "alice@idp.example.test"
    with_revocation: bool = True
    nonce: str = ""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    revoke_requests: list[dict[str, str]] = field(default_factory=list)
    # The Authorization header of each revocation request, in order.
    revoke_authorizations: list[str] = field(default_factory=list)
    kid: str = "test-key-1"
    # token_endpoint_auth_methods_supported in discovery.
    auth_methods: tuple[str, ...] = ("client_secret_basic",)
    # RFC 9207 authorization_response_iss_parameter_supported in discovery (None: not listed).
    iss_supported: bool | None = None
    # Whether token responses carry a refresh token.
    issue_refresh_token: bool = True

    def install(self) -> FakeIdP:
        discovery: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks",
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
        }
        if self.iss_supported is not None:
            discovery["authorization_response_iss_parameter_supported"] = self.iss_supported
        if self.with_revocation:
            discovery["revocation_endpoint"] = f"{ISSUER}/revoke"
        self.mock.get(f"{ISSUER}/.well-known/openid-configuration", json=discovery)
        jwk = json.loads(RSAAlgorithm.to_jwk(_RSA_KEY.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        self.mock.get(f"{ISSUER}/jwks", json={"keys": [jwk]})
        self.mock.add_callback(responses.POST, f"{ISSUER}/token", callback=self._token)
        self.mock.get(
            f"{ISSUER}/userinfo",
            json={"sub": self.sub, "email": self.email, "name": "Alice Example"},
        )
        self.mock.add_callback(responses.POST, f"{ISSUER}/revoke", callback=self._revoke)
        return self

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self.sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, _RSA_KEY, algorithm="RS256", headers={"kid": self.kid})

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = form_of(request.body)
        form["_authorization"] = request.headers.get("Authorization", "")
        self.token_requests.append(form)
        body = {
            "access_token": f"access-{secrets.token_hex(8)}",
            "refresh_token": f"refresh-{secrets.token_hex(8)}",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid profile email",
            "id_token": self.id_token(
                self.nonce if form.get("grant_type") != "refresh_token" else None
            ),
        }
        if not self.issue_refresh_token:
            del body["refresh_token"]
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _revoke(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = form_of(request.body)
        self.revoke_requests.append(form)
        self.revoke_authorizations.append(request.headers.get("Authorization", ""))
        return 200, {}, ""


@pytest.fixture
def idp(mocked: responses.RequestsMock, credentials: Credentials) -> FakeIdP:
    return FakeIdP(mock=mocked, client_id=credentials.oidc[0]).install()
