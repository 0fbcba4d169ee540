"""RFC 9207 `iss` on the callback, and revoking the grant of a link that was refused (issue 12).

A callback whose `iss` named another issuer was accepted although the provider advertises
`authorization_response_iss_parameter_supported`; and when linking was refused (the provider
account belongs to another user) the code had already been exchanged and the new grant stayed
alive at the provider.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from oauth_accounts.models import ConnectedAccount
from tests.oauth_accounts.conftest import (
    GITHUB_TOKEN_URL,
    GITHUB_USER_URL,
    ISSUER,
    FakeIdP,
)
from tests.oauth_accounts.factories import fake_token, make_account, make_user
from tests.oauth_accounts.test_flow import GoogleMock, start

pytestmark = pytest.mark.django_db

GITHUB_TOKEN_REVOKE_URL = "https://api.github.com/applications/github-client-test/token"
GITHUB_GRANT_URL = "https://api.github.com/applications/github-client-test/grant"


@pytest.fixture
def strict_idp(mocked: responses.RequestsMock, credentials: Any) -> FakeIdP:
    """A provider that advertises RFC 9207 (as django-oauth-toolkit, Keycloak and Okta do)."""
    return FakeIdP(mock=mocked, client_id=credentials.oidc[0], iss_supported=True).install()


def complete(client: Any, query: dict[str, str], **extra: str) -> Any:
    return client.get("/oauth/complete/oidc/", {"state": query["state"], "code": "code-1", **extra})


# --- iss --------------------------------------------------------------------------------------


def test_callback_naming_another_issuer_is_refused_before_the_code_is_exchanged(
    logged_in, strict_idp, user
):
    query = start(logged_in, "oidc")
    strict_idp.nonce = query["nonce"]

    response = complete(logged_in, query, iss="https://attacker.example")

    assert response.status_code == 400
    assert b"names another issuer than Acme SSO" in response.content
    assert strict_idp.token_requests == []  # the code went nowhere
    assert not ConnectedAccount.objects.exists()


def test_callback_without_iss_from_a_provider_that_advertises_it_is_refused(
    logged_in, strict_idp, user
):
    query = start(logged_in, "oidc")
    strict_idp.nonce = query["nonce"]

    response = complete(logged_in, query)

    assert response.status_code == 400
    assert b"does not name its issuer" in response.content
    assert strict_idp.token_requests == []
    assert not ConnectedAccount.objects.exists()


def test_callback_with_the_right_iss_connects(logged_in, strict_idp, user):
    query = start(logged_in, "oidc")
    strict_idp.nonce = query["nonce"]
    response = complete(logged_in, query, iss=ISSUER)
    assert response.status_code == 302, response.content[:500]
    assert ConnectedAccount.objects.filter(user=user, provider="oidc").exists()


def test_wrong_iss_is_refused_even_when_the_provider_does_not_advertise_it(logged_in, idp, user):
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]
    assert complete(logged_in, query, iss="https://attacker.example").status_code == 400
    # Not advertised: a callback without iss is still accepted.
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]
    assert complete(logged_in, query).status_code == 302


def test_google_callback_naming_another_issuer_is_refused(logged_in, credentials, mocked):
    google = GoogleMock(mocked)
    query = start(logged_in, "google")
    response = logged_in.get(
        "/oauth/complete/google/",
        {"state": query["state"], "code": "c", "iss": "https://attacker.example"},
    )
    assert response.status_code == 400
    assert google.token_requests == []
    query = start(logged_in, "google")
    response = logged_in.get(
        "/oauth/complete/google/",
        {"state": query["state"], "code": "c", "iss": "https://accounts.google.com"},
    )
    assert response.status_code == 302


# --- a refused link is revoked ----------------------------------------------------------------


def test_refused_oidc_link_revokes_the_tokens_just_issued(logged_in, idp, user):
    bob = make_user("bob")
    existing = make_account(user=bob, provider="oidc", uid=idp.sub)
    bob_tokens = (existing.access_token, existing.refresh_token)
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]

    response = complete(logged_in, query)

    assert response.status_code == 409
    assert b"already linked to another user" in response.content
    assert len(idp.token_requests) == 1
    assert len(idp.revoke_requests) == 1
    revoked = idp.revoke_requests[0]
    assert revoked["token_type_hint"] == "refresh_token"
    assert revoked["token"].startswith("refresh-")
    assert revoked["token"] != existing.refresh_token  # the new grant, not Bob's
    assert idp.revoke_authorizations[0].startswith("Basic ")
    existing.refresh_from_db()
    assert (existing.user, existing.access_token, existing.refresh_token) == (bob, *bob_tokens)
    assert not ConnectedAccount.objects.filter(user=user).exists()


def test_refused_github_link_revokes_only_the_new_token(logged_in, credentials, mocked, user):
    bob = make_user("bob")
    make_account(user=bob, provider="github", uid="4242")
    access = fake_token("gho")
    mocked.post(
        GITHUB_TOKEN_URL, json={"access_token": access, "token_type": "bearer", "scope": ""}
    )
    mocked.get(GITHUB_USER_URL, json={"id": 4242, "login": "octo", "email": "o@example.com"})
    revoked: list[Any] = []

    def revoke(request: Any) -> tuple[int, dict[str, str], str]:
        revoked.append(request)
        return 204, {}, ""

    mocked.add_callback(responses.DELETE, GITHUB_TOKEN_REVOKE_URL, callback=revoke)
    query = start(logged_in, "github")

    response = logged_in.get("/oauth/complete/github/", {"state": query["state"], "code": "c"})

    assert response.status_code == 409
    assert len(revoked) == 1
    assert json.loads(revoked[0].body) == {"access_token": access}
    assert revoked[0].headers["Authorization"].startswith("Basic ")
    # Not the whole grant: Bob's link to the same GitHub account keeps working.
    assert not [call for call in mocked.calls if call.request.url == GITHUB_GRANT_URL]


def test_refused_google_link_is_not_revoked_because_that_would_end_the_first_link(
    logged_in, credentials, mocked, user, caplog
):
    make_account(user=make_user("bob"), provider="google", uid="google-sub-1")
    GoogleMock(mocked, sub="google-sub-1")
    query = start(logged_in, "google")
    response = logged_in.get("/oauth/complete/google/", {"state": query["state"], "code": "x"})
    assert response.status_code == 409
    assert not [call for call in mocked.calls if "revoke" in call.request.url]
    assert "oauth_refused_link_not_revoked" in caplog.text


def test_a_failed_revocation_of_a_refused_link_still_shows_why_linking_was_refused(
    logged_in, credentials, mocked, user
):
    idp = FakeIdP(mock=mocked, client_id=credentials.oidc[0]).install()
    mocked.replace(responses.POST, f"{ISSUER}/revoke", status=503)
    make_account(user=make_user("bob"), provider="oidc", uid=idp.sub)
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]
    response = complete(logged_in, query)
    assert response.status_code == 409
    assert b"already linked to another user" in response.content
