"""The site's own sign-in page, for end users who are not staff."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_pages_that_need_a_login_send_anonymous_users_to_the_site_sign_in():
    from django.test import Client

    response = Client().get("/connections/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/connections/")


def test_a_non_staff_user_can_sign_in_and_lands_on_connections(client):
    get_user_model().objects.create_user(username="enduser", password="a-long-test-password-1")

    page = client.get("/accounts/login/?next=/connections/")
    response = client.post(
        "/accounts/login/",
        {"username": "enduser", "password": "a-long-test-password-1", "next": "/connections/"},
    )

    assert page.status_code == 200
    assert b"Sign in" in page.content
    assert response.status_code == 302
    assert response["Location"] == "/connections/"
    assert client.get("/connections/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client):
    get_user_model().objects.create_user(username="enduser", password="a-long-test-password-1")

    response = client.post("/accounts/login/", {"username": "enduser", "password": "nope"})

    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    assert "_auth_user_id" not in client.session
