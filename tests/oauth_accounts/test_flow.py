"""The connect flow for each provider, mocked at the provider boundary with `responses`:
PKCE, single-use state, encrypted storage, linking conflicts, open redirects, error pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from django.db import connection
from social_django.models import UserSocialAuth

from oauth_accounts.models import ConnectedAccount
from oauth_accounts.views import safe_next
from tests.oauth_accounts.conftest import (
    GITHUB_EMAILS_URL,
    GITHUB_TOKEN_URL,
    GITHUB_USER_URL,
    GOOGLE_TOKEN_URL,
    GOOGLE_USERINFO_URL,
    ISSUER,
    form_of,
    pkce_challenge,
    query_of,
)
from tests.oauth_accounts.factories import fake_token, make_account, make_user

pytestmark = pytest.mark.django_db


def start(client: Any, provider: str, next_url: str | None = "/connections/") -> dict[str, str]:
    data = {"next": next_url} if next_url is not None else {}
    response = client.post(f"/oauth/login/{provider}/", data)
    assert response.status_code == 302, response.content[:500]
    query = query_of(response["Location"])
    query["_location"] = response["Location"]
    return query


def assert_nowhere_in_database(*secrets: str) -> None:
    """Read every row of every table as raw SQL: no plaintext secret anywhere."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            # Table names come from introspection, not from input.
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            dump = repr(cursor.fetchall())
            for secret in secrets:
                assert secret not in dump, f"plaintext secret found in {table}"


def raw_token_columns(account_id: int) -> tuple[str, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM liaison_oauth_connectedaccount WHERE id = %s",
            [account_id],
        )
        return cursor.fetchone()


class GoogleMock:
    def __init__(self, mock: responses.RequestsMock, *, sub: str = "google-sub-1") -> None:
        self.access = fake_token("google-access")
        self.refresh = fake_token("google-refresh")
        self.token_requests: list[dict[str, str]] = []
        mock.add_callback(responses.POST, GOOGLE_TOKEN_URL, callback=self._token)
        mock.get(
            GOOGLE_USERINFO_URL,
            json={
                "sub": sub,
                "email": "alice@gmail.example",
                "email_verified": True,
                "name": "Alice Google",
            },
        )

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.token_requests.append(form_of(request.body))
        body = {
            "access_token": self.access,
            "refresh_token": self.refresh,
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "openid https://www.googleapis.com/auth/userinfo.email",
            "id_token": "header.payload.signature",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


# --- each provider ---------------------------------------------------------------------------


def test_google_connect_uses_pkce_offline_access_and_stores_tokens_encrypted(
    logged_in, credentials, mocked, user
):
    google = GoogleMock(mocked)
    query = start(logged_in, "google")
    assert query["_location"].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["code_challenge_method"] == "S256"
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert query["client_id"] == credentials.google[0]
    assert query["redirect_uri"] == "http://testserver/oauth/complete/google/"

    response = logged_in.get(
        "/oauth/complete/google/", {"state": query["state"], "code": "code-123"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/connections/"
    sent = google.token_requests[0]
    assert sent["code"] == "code-123"
    assert sent["grant_type"] == "authorization_code"
    assert pkce_challenge(sent["code_verifier"]) == query["code_challenge"]
    userinfo_call = next(c for c in mocked.calls if c.request.url == GOOGLE_USERINFO_URL)
    assert userinfo_call.request.headers["Authorization"] == f"Bearer {google.access}"

    account = ConnectedAccount.objects.get(user=user, provider="google")
    assert account.uid == "google-sub-1"
    assert account.email == "alice@gmail.example"
    assert account.access_token == google.access
    assert account.refresh_token == google.refresh
    assert account.scopes == ["openid", "https://www.googleapis.com/auth/userinfo.email"]
    assert account.expires_at is not None
    raw_access, raw_refresh = raw_token_columns(account.pk)
    assert raw_access.startswith("gAAAA")
    assert google.access not in raw_access
    assert raw_refresh is not None
    assert google.refresh not in raw_refresh
    social = UserSocialAuth.objects.get(provider="google", uid="google-sub-1")
    assert not {"access_token", "refresh_token", "id_token"} & set(social.extra_data)
    assert_nowhere_in_database(google.access, google.refresh, "header.payload.signature")


def test_github_app_connect_with_pkce_stores_expiring_token_and_primary_email(
    logged_in, credentials, mocked, user
):
    access, refresh = fake_token("ghu"), fake_token("ghr")
    token_requests: list[Any] = []

    def token(request: Any) -> tuple[int, dict[str, str], str]:
        token_requests.append(request)
        body = {
            "access_token": access,
            "expires_in": 28800,
            "refresh_token": refresh,
            "refresh_token_expires_in": 15811200,
            "scope": "",
            "token_type": "bearer",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.POST, GITHUB_TOKEN_URL, callback=token)
    mocked.get(
        GITHUB_USER_URL, json={"id": 4242, "login": "octo", "name": "Octo Cat", "email": None}
    )
    mocked.get(
        GITHUB_EMAILS_URL,
        json=[
            {"email": "other@example.com", "primary": False, "verified": True},
            {"email": "octo@example.com", "primary": True, "verified": True},
        ],
    )
    query = start(logged_in, "github")
    assert query["_location"].startswith("https://github.com/login/oauth/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "read:user,user:email"

    response = logged_in.get("/oauth/complete/github/", {"state": query["state"], "code": "c1"})

    assert response.status_code == 302
    sent = form_of(token_requests[0].body)
    assert pkce_challenge(sent["code_verifier"]) == query["code_challenge"]
    assert token_requests[0].headers["Accept"] == "application/json"
    user_call = next(c for c in mocked.calls if c.request.url == GITHUB_USER_URL)
    assert user_call.request.headers["Authorization"] == f"Bearer {access}"
    account = ConnectedAccount.objects.get(user=user, provider="github")
    assert (account.uid, account.email, account.display_name) == (
        "4242",
        "octo@example.com",
        "Octo Cat",
    )
    assert account.refresh_token == refresh
    assert account.refresh_token_expires_at is not None
    assert_nowhere_in_database(access, refresh)


def test_oidc_connect_discovers_endpoints_verifies_id_token_and_uses_pkce(logged_in, idp, user):
    query = start(logged_in, "oidc")
    assert query["_location"].startswith(f"{ISSUER}/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "openid profile email"
    idp.nonce = query["nonce"]

    response = logged_in.get("/oauth/complete/oidc/", {"state": query["state"], "code": "c1"})

    assert response.status_code == 302, response.content[:800]
    sent = idp.token_requests[0]
    assert pkce_challenge(sent["code_verifier"]) == query["code_challenge"]
    assert sent["_authorization"].startswith("Basic ")  # client_secret_basic from discovery
    account = ConnectedAccount.objects.get(user=user, provider="oidc")
    assert account.uid == idp.sub
    assert account.scopes == ["openid", "profile", "email"]
    page = logged_in.get("/connections/")
    assert b"Acme SSO" in page.content
    assert b"Alice Example" in page.content


def test_oidc_id_token_with_wrong_nonce_is_rejected_cleanly(logged_in, idp, user):
    query = start(logged_in, "oidc")
    idp.nonce = "not-the-nonce-we-sent"
    response = logged_in.get("/oauth/complete/oidc/", {"state": query["state"], "code": "c1"})
    assert response.status_code == 502
    assert b"could not verify" in response.content
    assert not ConnectedAccount.objects.exists()


# --- state -----------------------------------------------------------------------------------


def test_replayed_callback_fails_cleanly_and_does_not_exchange_the_code_again(
    logged_in, credentials, mocked, user
):
    google = GoogleMock(mocked)
    query = start(logged_in, "google")
    callback = {"state": query["state"], "code": "code-1"}
    assert logged_in.get("/oauth/complete/google/", callback).status_code == 302

    replay = logged_in.get("/oauth/complete/google/", callback)

    assert replay.status_code == 400
    assert b"no longer valid" in replay.content
    assert len(google.token_requests) == 1


def test_each_tab_gets_its_own_state_and_each_state_works_once(
    logged_in, credentials, mocked, user
):
    google = GoogleMock(mocked)
    first, second = start(logged_in, "google"), start(logged_in, "google")
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]

    ok_second = logged_in.get("/oauth/complete/google/", {"state": second["state"], "code": "b"})
    ok_first = logged_in.get("/oauth/complete/google/", {"state": first["state"], "code": "a"})
    again = logged_in.get("/oauth/complete/google/", {"state": first["state"], "code": "a"})

    assert (ok_second.status_code, ok_first.status_code, again.status_code) == (302, 302, 400)
    # Each code was exchanged with the verifier of its own flow.
    verifiers = [pkce_challenge(r["code_verifier"]) for r in google.token_requests]
    assert verifiers == [second["code_challenge"], first["code_challenge"]]


@pytest.mark.parametrize("state", ["forged-state", ""])
def test_unknown_or_missing_state_is_refused_without_calling_the_provider(
    logged_in, credentials, mocked, state
):
    google = GoogleMock(mocked)
    start(logged_in, "google")
    response = logged_in.get("/oauth/complete/google/", {"state": state, "code": "x"})
    assert response.status_code == 400
    assert not google.token_requests


def test_state_from_another_session_is_refused(client, credentials, mocked):
    google = GoogleMock(mocked)
    client.force_login(make_user("first"))
    query = start(client, "google")
    other = type(client)()
    other.force_login(make_user("second"))
    response = other.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 400
    assert not google.token_requests


def test_callback_without_a_logged_in_user_explains_the_session_ended(client, credentials, mocked):
    GoogleMock(mocked)
    client.force_login(make_user())
    query = start(client, "google")
    client.logout()
    response = client.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 400
    assert b"session ended" in response.content


# --- linking ---------------------------------------------------------------------------------


def test_account_linked_to_another_user_is_refused_with_a_clear_message(
    logged_in, credentials, mocked, user
):
    bob = make_user("bob")
    existing = make_account(user=bob, provider="google", uid="google-sub-1")
    bob_token = existing.access_token
    GoogleMock(mocked, sub="google-sub-1")
    query = start(logged_in, "google")

    response = logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})

    assert response.status_code == 409
    assert b"already linked to another user" in response.content
    existing.refresh_from_db()
    assert existing.user == bob
    assert existing.access_token == bob_token
    assert not ConnectedAccount.objects.filter(user=user).exists()


def test_reconnecting_own_account_updates_tokens_and_reactivates(
    logged_in, credentials, mocked, user
):
    account = make_account(
        user=user, provider="google", uid="google-sub-1", status="needs_reconnect"
    )
    google = GoogleMock(mocked, sub="google-sub-1")
    query = start(logged_in, "google")
    assert (
        logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"}).status_code
        == 302
    )
    account.refresh_from_db()
    assert account.status == "active"
    assert account.access_token == google.access
    assert ConnectedAccount.objects.filter(user=user).count() == 1


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/steal",
        "//evil.example/x",
        "/\\evil.example",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_next_pointing_off_site_is_ignored(logged_in, credentials, mocked, next_url):
    GoogleMock(mocked)
    query = start(logged_in, "google", next_url=next_url)
    response = logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 302
    assert response["Location"] == "/connections/"


def test_local_next_is_honoured(logged_in, credentials, mocked):
    GoogleMock(mocked)
    query = start(logged_in, "google", next_url="/connections/?tab=google")
    response = logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response["Location"] == "/connections/?tab=google"


def test_safe_next_accepts_only_local_paths(rf):
    request = rf.get("/")
    assert safe_next(request, "/a/b?c=1") == "/a/b?c=1"
    for bad in ("", None, "a/b", "//x.example", "https://testserver/a", "/\\x.example"):
        assert safe_next(request, bad) is None


# --- errors ----------------------------------------------------------------------------------


def test_denied_consent_ends_on_a_clear_page(logged_in, credentials, mocked):
    query = start(logged_in, "google")
    response = logged_in.get(
        "/oauth/complete/google/", {"state": query["state"], "error": "access_denied"}
    )
    assert response.status_code == 403
    assert b"did not grant access" in response.content


def test_redirect_uri_mismatch_tells_staff_the_exact_callback_url(client, credentials, mocked):
    client.force_login(make_user("staff", is_staff=True))
    query = start(client, "google")
    response = client.get(
        "/oauth/complete/google/", {"state": query["state"], "error": "redirect_uri_mismatch"}
    )
    assert response.status_code == 502
    assert b"redirect_uri_mismatch" in response.content
    assert b"http://testserver/oauth/complete/google/" in response.content
    assert b"OAUTH_GOOGLE_CLIENT_ID" in response.content


def test_invalid_client_at_token_exchange_is_a_configuration_page_hint_hidden_from_users(
    logged_in, credentials, mocked
):
    mocked.post(GOOGLE_TOKEN_URL, status=401, json={"error": "invalid_client"})
    query = start(logged_in, "google")
    response = logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 502
    assert b"not set up correctly" in response.content
    assert b"invalid_client" in response.content
    assert b"/oauth/complete/google/" not in response.content  # staff-only detail


def test_provider_unreachable_ends_on_a_retry_later_page(logged_in, credentials, mocked):
    mocked.post(GOOGLE_TOKEN_URL, body=requests.ConnectionError("refused"))
    query = start(logged_in, "google")
    response = logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 502
    assert b"try again later" in response.content


def test_open_breaker_ends_on_an_unavailable_page(logged_in, credentials, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"google": {"retries": 0, "breaker_fail_max": 1}}
    mocked.post(GOOGLE_TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
    first = start(logged_in, "google")
    second = start(logged_in, "google")
    failed = logged_in.get("/oauth/complete/google/", {"state": first["state"], "code": "x"})
    tripped = logged_in.get("/oauth/complete/google/", {"state": second["state"], "code": "y"})
    assert failed.status_code == 502
    assert tripped.status_code == 503
    assert b"paused calls" in tripped.content
    assert len([c for c in mocked.calls if c.request.url == GOOGLE_TOKEN_URL]) == 1


def test_oidc_discovery_down_at_start_is_a_clear_page(logged_in, credentials, mocked, settings):
    # A fresh issuer: discovery documents are cached per URL.
    settings.OAUTH_OIDC_ISSUER = "https://down.idp.example.test"
    mocked.get("https://down.idp.example.test/.well-known/openid-configuration", status=500)
    response = logged_in.post("/oauth/login/oidc/", {"next": "/connections/"})
    assert response.status_code == 502
    assert b"Acme SSO" in response.content


# --- access rules ----------------------------------------------------------------------------


def test_starting_a_flow_needs_login_post_and_an_enabled_provider(
    client, logged_in, credentials, settings
):
    anonymous = type(client)()
    assert anonymous.post("/oauth/login/google/")["Location"].startswith("/accounts/login/")
    assert logged_in.get("/oauth/login/google/").status_code == 405
    assert logged_in.post("/oauth/login/unknown/").status_code == 404
    settings.OAUTH_GITHUB_CLIENT_SECRET = ""
    assert logged_in.post("/oauth/login/github/").status_code == 404


def test_start_requires_csrf_token(credentials, user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/oauth/login/google/").status_code == 403


def test_login_with_provider_signs_in_a_linked_user_only_when_enabled(
    client, credentials, mocked, settings
):
    owner = make_user("owner")
    make_account(user=owner, provider="google", uid="google-sub-1")
    GoogleMock(mocked, sub="google-sub-1")
    assert client.post("/oauth/login/google/").status_code == 302  # to the login page
    settings.OAUTH_LOGIN_WITH_PROVIDER = True

    query = start(client, "google")
    response = client.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == owner.pk


def test_login_with_provider_refuses_an_unlinked_provider_account(
    client, credentials, mocked, settings
):
    settings.OAUTH_LOGIN_WITH_PROVIDER = True
    GoogleMock(mocked, sub="nobody-linked")
    query = start(client, "google")
    response = client.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert not UserSocialAuth.objects.exists()
