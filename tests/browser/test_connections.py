"""In a real browser: a user signs in, connects an account at a locally served OpenID Connect
provider (django-oauth-toolkit, its own process), sees it listed, then disconnects it."""

from __future__ import annotations

import secrets

import pytest
import requests

from oauth_accounts.models import ConnectedAccount
from tests.browser.conftest import screenshot
from tests.oauth_accounts.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user_connects_and_disconnects_an_account(page, oidc_provider):
    password = secrets.token_urlsafe(16)
    user = make_user("carol", email="carol@example.com")
    user.set_password(password)
    user.save()

    # Sign in to Liaison; the login redirects to the connections page.
    page.goto("/accounts/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", password)
    page.click("form [type=submit]")
    page.wait_for_url("**/connections/")
    assert "No accounts connected yet" in page.inner_text("body")

    # Connect: Liaison sends the browser to the provider, which asks to sign in, then consent.
    page.click("text=Connect Test IdP")
    page.wait_for_url(f"{oidc_provider.issuer.removesuffix('/o')}/accounts/login/**")
    page.fill("#id_username", oidc_provider.username)
    page.fill("#id_password", oidc_provider.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{oidc_provider.issuer}/authorize/**")
    page.click("input[name=allow]")

    # Back on Liaison with the account listed and active.
    page.wait_for_url("**/connections/")
    body = page.inner_text("body")
    assert "Connected your Test IdP account" in body
    assert "Ada Provider" in body
    assert page.locator(".oa-status--active").count() == 1
    account = ConnectedAccount.objects.get(user=user, provider="oidc")
    access_token = account.access_token
    assert access_token
    assert access_token not in page.content()
    screenshot(page, "connections.png")

    # Disconnect, confirming on the second page: revoked at the provider, gone here.
    page.click("a:has-text('Disconnect')")
    page.wait_for_url(f"**/connections/{account.pk}/disconnect/")
    page.click("form.oa-confirm button[type=submit]")
    page.wait_for_url("**/connections/")
    assert "access was revoked at Test IdP" in page.inner_text("body")
    assert "No accounts connected yet" in page.inner_text("body")
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()
    userinfo = requests.get(
        f"{oidc_provider.issuer}/userinfo/",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    assert userinfo.status_code == 401
