"""Disconnect and revoke (pages, API, admin), the connections page, the providers command,
and the client-credentials helper."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import responses
from django.core.management import call_command
from django.test import Client
from social_django.models import UserSocialAuth

from oauth_accounts.client_credentials import client_credentials_token
from oauth_accounts.models import ClientCredentialsToken, ConnectedAccount
from oauth_accounts.signals import strip_tokens
from tests.oauth_accounts.conftest import GOOGLE_REVOKE_URL, ISSUER, form_of
from tests.oauth_accounts.factories import fake_token, make_account, make_user

pytestmark = pytest.mark.django_db


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- revocation per provider -----------------------------------------------------------------


def test_google_disconnect_revokes_the_refresh_token_then_deletes_everything(
    logged_in, credentials, mocked, user
):
    account = make_account(user=user, provider="google")
    mocked.post(GOOGLE_REVOKE_URL, status=200)

    confirm = logged_in.get(f"/connections/{account.pk}/disconnect/")
    assert confirm.status_code == 200
    assert b"Disconnect Google?" in confirm.content
    response = logged_in.post(f"/connections/{account.pk}/disconnect/", follow=True)

    assert form_of(mocked.calls[0].request.body) == {"token": account.refresh_token}
    assert b"access was revoked at Google" in response.content
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()
    assert not UserSocialAuth.objects.filter(provider="google", user=user).exists()


def test_github_disconnect_deletes_the_grant_with_app_basic_auth(
    logged_in, credentials, mocked, user
):
    account = make_account(user=user, provider="github")
    client_id, secret = credentials.github
    url = f"https://api.github.com/applications/{client_id}/grant"
    mocked.delete(url, status=204)

    logged_in.post(f"/connections/{account.pk}/disconnect/")

    request = mocked.calls[0].request
    assert request.method == "DELETE"
    assert request.url == url
    assert request.headers["Authorization"] == basic_auth(client_id, secret)
    assert json.loads(request.body) == {"access_token": account.access_token}
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()


def test_github_expired_access_token_is_refreshed_before_revoking(
    logged_in, credentials, mocked, user
):
    account = make_account(user=user, provider="github", expires_in=timedelta(seconds=-5))
    fresh = fake_token("ghu")
    mocked.post(
        "https://github.com/login/oauth/access_token",
        json={"access_token": fresh, "expires_in": 28800, "refresh_token": fake_token("ghr")},
    )
    mocked.delete(f"https://api.github.com/applications/{credentials.github[0]}/grant", status=204)
    logged_in.post(f"/connections/{account.pk}/disconnect/")
    assert json.loads(mocked.calls[1].request.body) == {"access_token": fresh}


def test_oidc_disconnect_uses_the_discovered_revocation_endpoint(logged_in, idp, user):
    account = make_account(user=user, provider="oidc", uid=idp.sub)
    logged_in.post(f"/connections/{account.pk}/disconnect/")
    assert idp.revoke_requests == [
        {"token": account.refresh_token, "token_type_hint": "refresh_token"}
    ]
    revoke_call = next(c for c in idp.mock.calls if c.request.url == f"{ISSUER}/revoke")
    assert revoke_call.request.headers["Authorization"] == basic_auth(*idp_credentials(idp))
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()


def idp_credentials(idp: Any) -> tuple[str, str]:
    from django.conf import settings

    return settings.OAUTH_OIDC_CLIENT_ID, settings.OAUTH_OIDC_CLIENT_SECRET


def test_failed_revoke_is_shown_and_logged_and_local_tokens_are_deleted_anyway(
    logged_in, credentials, mocked, user, caplog
):
    account = make_account(user=user, provider="google")
    mocked.post(GOOGLE_REVOKE_URL, status=400, json={"error": "invalid_request"})

    response = logged_in.post(f"/connections/{account.pk}/disconnect/", follow=True)

    assert b"did not confirm the revocation" in response.content
    assert any(r.getMessage() == "oauth_grant_revoke_failed" for r in caplog.records)
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()


def test_disconnect_needs_post_with_csrf_and_only_touches_own_accounts(credentials, mocked, user):
    mine = make_account(user=user, provider="google")
    theirs = make_account(user=make_user("bob"), provider="google")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"/connections/{mine.pk}/disconnect/").status_code == 403
    assert strict.get(f"/connections/{theirs.pk}/disconnect/").status_code == 404
    assert ConnectedAccount.objects.count() == 2
    assert not mocked.calls


# --- API -------------------------------------------------------------------------------------


def test_api_lists_only_own_accounts_without_tokens(logged_in, credentials, user):
    mine = make_account(user=user, provider="google", display_name="Mine")
    make_account(user=make_user("bob"), provider="github")
    response = logged_in.get("/api/connections/")
    assert response.status_code == 200
    body = response.json()
    items = body["results"] if isinstance(body, dict) else body
    assert [item["id"] for item in items] == [mine.pk]
    assert items[0]["token_status"] == "active"
    assert items[0]["provider_title"] == "Google"
    assert mine.access_token not in response.content.decode()
    assert mine.refresh_token not in response.content.decode()


def test_api_delete_revokes_own_account_and_404s_for_others(logged_in, credentials, mocked, user):
    mine = make_account(user=user, provider="google")
    theirs = make_account(user=make_user("bob"), provider="google")
    mocked.post(GOOGLE_REVOKE_URL, status=200)
    assert logged_in.delete(f"/api/connections/{theirs.pk}/").status_code == 404
    response = logged_in.delete(f"/api/connections/{mine.pk}/")
    assert response.status_code == 200
    assert response.json() == {"disconnected": True, "revoked": True, "revoke_error": ""}
    assert list(ConnectedAccount.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_api_requires_login(client):
    assert client.get("/api/connections/").status_code in (401, 403)


# --- pages and admin -------------------------------------------------------------------------


def test_connections_page_lists_accounts_with_status_and_connect_buttons(
    logged_in, credentials, user
):
    make_account(user=user, provider="google", display_name="Active One")
    make_account(user=user, provider="github", display_name="Broken One", status="needs_reconnect")
    make_account(
        user=user,
        provider="oidc",
        display_name="Short Lived",
        refresh_token=None,
        expires_in=timedelta(minutes=2),
    )
    page = logged_in.get("/connections/").content.decode()
    assert "Active One" in page
    assert "Broken One" in page
    assert "oa-status--active" in page
    assert "oa-status--needs_reconnect" in page
    assert "oa-status--expiring" in page
    for title in ("Connect Google", "Connect GitHub", "Connect Acme SSO"):
        assert title in page
    assert 'action="/oauth/login/google/"' in page
    assert page.count(">Reconnect</button>") == 2  # needs reconnect + expiring
    assert "csrfmiddlewaretoken" in page


def test_connections_page_requires_login(client):
    response = client.get("/connections/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_admin_shows_token_state_never_values_and_actions_report_counts(
    client, credentials, mocked
):
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    account = make_account(provider="google", expires_in=timedelta(hours=1))
    page = client.get(
        f"/admin/liaison_oauth/connectedaccount/{account.pk}/change/"
    ).content.decode()
    assert account.access_token not in page
    assert account.refresh_token not in page
    assert page.count('<div class="readonly">set</div>') == 2  # access and refresh token

    mocked.post(
        "https://oauth2.googleapis.com/token",
        json={"access_token": fake_token("n"), "expires_in": 3599},
    )
    response = client.post(
        "/admin/liaison_oauth/connectedaccount/",
        {"action": "refresh_now", "_selected_action": [account.pk], "confirmed": "yes"},
        follow=True,
    )
    assert b"Refreshed 1 account(s); 0 failed" in response.content

    mocked.post(GOOGLE_REVOKE_URL, status=200)
    response = client.post(
        "/admin/liaison_oauth/connectedaccount/",
        {"action": "revoke", "_selected_action": [account.pk], "confirmed": "yes"},
        follow=True,
    )
    assert b"Revoked 1 account(s)" in response.content
    account.refresh_from_db()
    assert account.status == "revoked"
    assert account.access_token is None
    assert account.refresh_token is None
    listing = client.get("/admin/liaison_oauth/connectedaccount/?status__exact=revoked")
    assert listing.status_code == 200
    assert b"not set" in listing.content


def test_oauth_providers_command_lists_enabled_providers_with_callback_urls(credentials, settings):
    settings.OAUTH_PUBLIC_BASE_URL = "https://liaison.example.com"
    settings.OAUTH_GITHUB_CLIENT_ID = ""
    out = StringIO()
    call_command("oauth_providers", stdout=out)
    text = out.getvalue()
    assert "https://liaison.example.com/oauth/complete/google/" in text
    assert "https://liaison.example.com/oauth/complete/oidc/" in text
    assert "github" not in text


def test_strip_tokens_guard_keeps_tokens_out_of_extra_data(user):
    social = UserSocialAuth.objects.create(user=user, provider="google", uid="x", id_key="sub")
    social.set_extra_data({"access_token": "a", "refresh_token": "r", "id_token": "i", "sub": "x"})
    social.refresh_from_db()
    assert "access_token" not in social.extra_data
    assert social.extra_data["sub"] == "x"
    assert strip_tokens({"token_type": "Bearer", "foo_token": "z"}) == {"token_type": "Bearer"}


# --- client credentials ----------------------------------------------------------------------


def test_client_credentials_token_is_cached_until_near_expiry(credentials, mocked):
    url = f"{ISSUER}/cc-token"
    first, second = fake_token("cc"), fake_token("cc")
    mocked.post(url, json={"access_token": first, "expires_in": 3600, "token_type": "Bearer"})
    kwargs = {
        "service": "oidc",
        "token_url": url,
        "client_id": "svc",
        "client_secret": "fake-svc-secret",
        "scope": "reports:read",
    }
    assert client_credentials_token(**kwargs) == first
    assert client_credentials_token(**kwargs) == first
    assert len(mocked.calls) == 1
    request = mocked.calls[0].request
    assert form_of(request.body) == {"grant_type": "client_credentials", "scope": "reports:read"}
    assert request.headers["Authorization"] == basic_auth("svc", "fake-svc-secret")

    row = ClientCredentialsToken.objects.get()
    # The token was fetched 58 minutes ago: 2 minutes of its hour are left.
    row.expires_at = row.expires_at - timedelta(minutes=58)
    row.fetched_at = row.fetched_at - timedelta(minutes=58)
    row.save()
    mocked.replace(responses.POST, url, json={"access_token": second, "expires_in": 3600})
    assert client_credentials_token(**kwargs) == second
    assert len(mocked.calls) == 2
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM liaison_oauth_clientcredentialstoken")
        assert second not in cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_client_credentials_callers_cause_one_token_request(credentials, mocked):
    import threading
    import time

    from django.db import connection

    url = f"{ISSUER}/cc-token"
    token = fake_token("cc")
    calls: list[int] = []

    def respond(request: Any) -> tuple[int, dict[str, str], str]:
        calls.append(1)
        time.sleep(0.3)  # keep the request in flight while the other callers arrive
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"access_token": token, "expires_in": 3600}),
        )

    mocked.add_callback(responses.POST, url, callback=respond)
    barrier = threading.Barrier(10)
    results: list[str] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(
                client_credentials_token(
                    service="oidc", token_url=url, client_id="svc", client_secret="fake-svc-secret"
                )
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(calls) == 1
    assert results == [token] * 10
