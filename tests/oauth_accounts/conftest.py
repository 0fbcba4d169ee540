"""Fixtures for oauth_accounts: configured providers, isolated resilient-client state, a fake
OpenID Connect provider (RSA key generated at test time) mocked with `responses`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
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
    kid: str = "test-key-1"

    def install(self) -> FakeIdP:
        discovery = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }
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
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _revoke(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = form_of(request.body)
        self.revoke_requests.append(form)
        return 200, {}, ""


@pytest.fixture
def idp(mocked: responses.RequestsMock, credentials: Credentials) -> FakeIdP:
    return FakeIdP(mock=mocked, client_id=credentials.oidc[0]).install()
