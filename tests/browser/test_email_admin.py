"""In a real browser: the email admin shows a message's HTML body inside a sandboxed iframe
(rendered, scripts not run, under the admin's Content-Security-Policy) and its text body."""

from __future__ import annotations

import secrets

import pytest
from django.contrib.auth import get_user_model

from integrations.email.models import EmailMessage
from tests.browser.conftest import admin_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HTML = (
    '<!doctype html><html><body><h1 id="greeting">Thanks, Jenny</h1>'
    "<p>Order <b>ORD-2001</b> is paid.</p>"
    "<script>document.body.setAttribute('data-script-ran', 'yes')</script></body></html>"
)


@pytest.fixture
def staff_password() -> str:
    password = secrets.token_urlsafe(16)
    get_user_model().objects.create_superuser("ops", "ops@example.com", password)
    return password


@pytest.fixture
def message() -> EmailMessage:
    return EmailMessage.objects.create(
        to=["jenny.rosen@example.com"],
        from_email="shop@example.com",
        subject="Payment received",
        request={"text": "Thanks, Jenny. Order ORD-2001 is paid.", "html": HTML},
        status=EmailMessage.Status.DELIVERED,
        timeline=[{"event": "delivered", "at": 1721954003, "sg_event_id": "x1"}],
    )


def test_email_body_is_shown_in_a_sandboxed_iframe(page, staff_password, message):
    admin_login(page, "ops", staff_password)
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )

    page.goto("/admin/liaison_email/emailmessage/?q=jenny.rosen%40example.com")
    page.click(f"#result_list a[href*='/emailmessage/{message.pk}/change/']")

    iframe = page.locator("iframe.email-html")
    assert iframe.get_attribute("sandbox") == ""
    body = page.frame_locator("iframe.email-html")
    assert body.locator("#greeting").inner_text() == "Thanks, Jenny"
    assert body.locator("body").get_attribute("data-script-ran") is None  # no script ran
    assert "Order ORD-2001 is paid." in page.locator("pre.email-text").inner_text()
    assert "2024-07-26T00:33:23Z" in page.locator("table.email-timeline").inner_text()
    assert page.locator("input[name=_save]").count() == 0
    assert not [v for v in violations if "frame" in v.lower()]
    screenshot(page, "email-admin-message.png")
