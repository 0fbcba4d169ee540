"""Authorization parameters, accounts linked without a refresh token, and one token-endpoint
client authentication for exchange, refresh and revocation (issue 12).

Spec-strict providers issue a refresh token only for `offline_access` with `prompt=consent`;
there was no setting for `prompt`, so such an account showed "Active" with no refresh token and
silently died at expiry. Code exchange and revocation used HTTP Basic while refresh put the
client secret in the body.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from oauth_accounts.models import ConnectedAccount
from oauth_accounts.selectors import account_display_status
from oauth_accounts.services import oauth_access_token_get
from tests.oauth_accounts.conftest import FakeIdP
from tests.oauth_accounts.factories import make_account
from tests.oauth_accounts.test_disconnect import basic_auth
from tests.oauth_accounts.test_flow import start

pytestmark = pytest.mark.django_db


# --- authorization parameters -----------------------------------------------------------------


def test_oidc_prompt_and_offline_access_reach_the_authorization_request(logged_in, idp, settings):
    settings.OAUTH_OIDC_PROMPT = "consent"
    settings.OAUTH_OIDC_SCOPES = ["openid", "email", "offline_access"]
    query = start(logged_in, "oidc")
    assert query["prompt"] == "consent"
    assert query["scope"] == "openid email offline_access"


def test_no_prompt_is_sent_by_default(logged_in, idp):
    assert "prompt" not in start(logged_in, "oidc")


@pytest.mark.parametrize(
    ("provider", "configured", "expected"),
    [
        ("oidc", {"ui_locales": "de", "max_age": "600"}, {"ui_locales": "de", "max_age": "600"}),
        # Merged over Liaison's own offline-access parameters for Google.
        (
            "google",
            {"hd": "example.com"},
            {"hd": "example.com", "access_type": "offline", "prompt": "consent"},
        ),
        ("github", {"allow_signup": "false"}, {"allow_signup": "false"}),
    ],
)
def test_extra_authorization_parameters_per_provider(
    logged_in, idp, settings, provider, configured, expected
):
    setattr(settings, f"OAUTH_{provider.upper()}_AUTH_EXTRA_ARGUMENTS", configured)
    query = start(logged_in, provider)
    assert {key: query.get(key) for key in expected} == expected


def test_extra_arguments_cannot_replace_the_parameters_the_flow_relies_on(logged_in, idp, settings):
    settings.OAUTH_OIDC_AUTH_EXTRA_ARGUMENTS = {"state": "fixed", "code_challenge_method": "plain"}
    response = logged_in.post("/oauth/login/oidc/", {"next": "/connections/"})
    assert response.status_code == 502
    assert b"not set up correctly" in response.content


def test_an_invalid_prompt_is_a_configuration_page(logged_in, idp, settings):
    settings.OAUTH_OIDC_PROMPT = "always"
    response = logged_in.post("/oauth/login/oidc/", {"next": "/connections/"})
    assert response.status_code == 502


# --- linked without a refresh token -----------------------------------------------------------


def test_account_linked_without_a_refresh_token_is_not_shown_as_active(
    logged_in, credentials, mocked, user
):
    idp = FakeIdP(mock=mocked, client_id=credentials.oidc[0], issue_refresh_token=False)
    idp.install()
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]

    response = logged_in.get(
        "/oauth/complete/oidc/", {"state": query["state"], "code": "c"}, follow=True
    )

    assert response.status_code == 200
    assert b"did not allow Liaison to renew access" in response.content
    account = ConnectedAccount.objects.get(user=user)
    assert account.refresh_token is None
    assert account_display_status(account) == "expiring"
    assert "issued no refresh token" in account.last_error  # what staff see in the admin
    page = logged_in.get("/connections/").content.decode()
    assert "oa-status--expiring" in page
    assert ">Reconnect</button>" in page
    assert "Cannot be renewed: reconnect before it expires." in page
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    logged_in.force_login(admin)
    detail = logged_in.get(f"/admin/liaison_oauth/connectedaccount/{account.pk}/change/")
    assert b"issued no refresh token" in detail.content


def test_account_with_a_refresh_token_or_a_non_expiring_token_stays_active(credentials):
    assert account_display_status(make_account()) == "active"
    assert account_display_status(make_account(refresh_token=None, expires_in=None)) == "active"


# --- one client authentication method ---------------------------------------------------------


def test_basic_advertised_exchange_refresh_and_revocation_all_use_basic(
    logged_in, idp, user, settings
):
    expected = basic_auth(settings.OAUTH_OIDC_CLIENT_ID, settings.OAUTH_OIDC_CLIENT_SECRET)
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]
    logged_in.get("/oauth/complete/oidc/", {"state": query["state"], "code": "c"})
    account = ConnectedAccount.objects.get(user=user)
    ConnectedAccount.objects.filter(pk=account.pk).update(expires_at=account.connected_at)
    oauth_access_token_get(account=account.pk)
    logged_in.post(f"/connections/{account.pk}/disconnect/")

    exchange, refresh = idp.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert refresh["grant_type"] == "refresh_token"
    for sent in (exchange, refresh):
        assert sent["_authorization"] == expected
        assert "client_secret" not in sent
    assert idp.revoke_authorizations == [expected]
    assert "client_secret" not in idp.revoke_requests[0]


def test_post_advertised_exchange_refresh_and_revocation_all_send_the_secret_in_the_body(
    logged_in, credentials, mocked, user, settings
):
    idp = FakeIdP(
        mock=mocked, client_id=credentials.oidc[0], auth_methods=("client_secret_post",)
    ).install()
    query = start(logged_in, "oidc")
    idp.nonce = query["nonce"]
    logged_in.get("/oauth/complete/oidc/", {"state": query["state"], "code": "c"})
    account = ConnectedAccount.objects.get(user=user)
    ConnectedAccount.objects.filter(pk=account.pk).update(expires_at=account.connected_at)
    oauth_access_token_get(account=account.pk)
    logged_in.post(f"/connections/{account.pk}/disconnect/")

    assert len(idp.token_requests) == 2
    for sent in (*idp.token_requests, *idp.revoke_requests):
        assert sent.get("_authorization", "") == ""
        assert sent["client_id"] == credentials.oidc[0]
        assert sent["client_secret"] == credentials.oidc[1]
    assert idp.revoke_authorizations == [""]
