"""In a real browser: staff sign in to the admin and replay a failed event from the list."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import admin_login
from tests.webhooks.factories import make_endpoint, make_event
from webhooks import handlers
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Status = WebhookEvent.Status


@pytest.fixture
def staff_password() -> str:
    password = secrets.token_urlsafe(16)
    get_user_model().objects.create_superuser("ops", "ops@example.com", password)
    return password


def test_staff_member_signs_in_to_the_admin(page, staff_password):
    page.goto("/admin/")
    assert "/admin/login/" in page.url

    page.fill("#id_username", "ops")
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    assert page.locator(".errornote").is_visible()

    admin_login(page, "ops", staff_password)

    assert re.search(r"/admin/$", page.url)
    assert "ops" in page.inner_text("#user-tools").lower()
    assert page.locator("a[href='/admin/liaison_webhooks/webhookevent/']").count() >= 1


@pytest.fixture
def replay_handler() -> Iterator[list[str]]:
    """Handles ("stripe", "liaison.test.browser_replay") in this process (the live server's)."""
    seen: list[str] = []

    def handler(event: WebhookEvent) -> None:
        seen.append(event.event_id)

    handlers.register("stripe", "liaison.test.browser_replay")(handler)
    yield seen
    handlers._HANDLERS[("stripe", "liaison.test.browser_replay")].remove(handler)


def test_replaying_a_failed_event_from_the_admin_event_list(page, staff_password, replay_handler):
    endpoint = make_endpoint(provider="stripe", slug="browser-payments")
    failed = make_event(
        endpoint=endpoint,
        event_id="evt_browser_failed",
        event_type="liaison.test.browser_replay",
        status=Status.DEAD,
        attempts=9,
        last_error="RuntimeError: handler crashed",
    )
    untouched = make_event(endpoint=endpoint, event_id="evt_browser_ok", status=Status.PROCESSED)
    admin_login(page, "ops", staff_password)

    page.goto("/admin/liaison_webhooks/webhookevent/?status__exact=dead")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "evt_browser_failed" in rows.first.inner_text()
    page.check(f"input.action-select[value='{failed.pk}']")
    page.select_option("select[name=action]", "replay")
    page.click("button[name=index]")
    page.click('input[type=submit][value="Yes, I\'m sure"]')  # the confirmation page

    message = page.locator("ul.messagelist li").first.inner_text()
    assert "1 event(s) queued for replay" in message
    # The live server ran the replayed event (eager tasks): the handler saw it once.
    assert replay_handler == ["evt_browser_failed"]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (Status.PROCESSED, 1, "")
    untouched.refresh_from_db()
    assert untouched.status == Status.PROCESSED

    page.goto("/admin/liaison_webhooks/webhookevent/?status__exact=dead")
    assert page.locator("#result_list").count() == 0


def test_api_docs_render_from_local_assets_under_the_sites_csp(page, site, staff_password):
    external: list[str] = []
    csp_errors: list[str] = []

    def record_request(request):
        if not request.url.startswith((site.url, "data:")):
            external.append(request.url)

    def record_console(message):
        if "Content Security Policy" in message.text:
            csp_errors.append(message.text)

    page.on("request", record_request)
    page.on("console", record_console)
    admin_login(page, "ops", staff_password)

    page.goto("/api/docs/")

    page.wait_for_selector(".swagger-ui .opblock-tag")
    text = page.inner_text(".swagger-ui")
    assert "Liaison API" in text
    assert "/api/staff/webhooks/events/{id}/replay/" in text
    assert external == []
    assert csp_errors == []
