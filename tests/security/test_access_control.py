"""Who may see what: the admin and the staff API need staff; nobody reaches another user's
connections, through the pages or the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from oauth_accounts.models import ConnectedAccount
from tests.oauth_accounts.factories import make_account, make_user

pytestmark = pytest.mark.django_db

STAFF_API = [
    "/api/staff/health/",
    "/api/staff/webhooks/events/",
    "/api/staff/webhooks/endpoints/",
    "/api/staff/accounts/",
]


def admin_changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def test_admin_pages_need_staff(client, staff):
    urls = ["/admin/", *admin_changelists()]
    assert len(urls) > 8

    for url in urls:  # anonymous: sent to the login page
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url

    client.force_login(make_user("plain"))
    for url in urls:  # a signed-in user without is_staff: the same
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url

    client.force_login(staff)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_staff_api_needs_staff(client, staff):
    for url in STAFF_API:
        assert client.get(url).status_code == 403, url

    client.force_login(make_user("plain"))
    for url in STAFF_API:
        assert client.get(url).status_code == 403, url
    assert client.get("/api/schema/").status_code == 403

    client.force_login(staff)
    for url in STAFF_API:
        assert client.get(url).status_code == 200, url


@pytest.fixture
def alice_account() -> ConnectedAccount:
    return make_account(user=make_user("alice"), display_name="Alice Private")


@pytest.fixture
def mallory() -> Client:
    client = Client()
    client.force_login(make_user("mallory"))
    return client


def test_a_user_cannot_see_another_users_connections(mallory: Any, alice_account):
    page = mallory.get("/connections/")
    assert page.status_code == 200
    assert b"Alice Private" not in page.content

    listed = mallory.get("/api/connections/")
    assert listed.status_code == 200
    assert listed.json() == [] or alice_account.pk not in [row["id"] for row in listed.json()]

    assert mallory.get(f"/api/connections/{alice_account.pk}/").status_code == 404
    assert mallory.get(f"/connections/{alice_account.pk}/disconnect/").status_code == 404


def test_a_user_cannot_disconnect_another_users_connection(mallory: Any, alice_account):
    assert mallory.post(f"/connections/{alice_account.pk}/disconnect/").status_code == 404
    assert mallory.delete(f"/api/connections/{alice_account.pk}/").status_code == 404

    assert ConnectedAccount.objects.filter(pk=alice_account.pk).exists()


def test_the_owner_does_see_their_connection(client, alice_account):
    """The positive control for the two tests above."""
    client.force_login(alice_account.user)

    assert b"Alice Private" in client.get("/connections/").content
    assert client.get(f"/api/connections/{alice_account.pk}/").status_code == 200
