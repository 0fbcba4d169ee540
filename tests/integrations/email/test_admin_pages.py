"""The email admin: subject, text and HTML body (the HTML in an empty sandbox, as srcdoc),
search by recipient, a readable timeline, and a read-only page."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from integrations.email.models import EmailMessage

pytestmark = pytest.mark.django_db

HTML = '<p style="color: teal">Thanks for your order <b>ORD-1</b></p><script>alert(1)</script>'


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def message():
    return EmailMessage.objects.create(
        to=["jenny.rosen@example.com"],
        cc=["accounts@example.org"],
        from_email="shop@example.com",
        subject="Your receipt",
        request={"text": "Thanks for your order ORD-1\nTotal: $20.00", "html": HTML},
        status=EmailMessage.Status.OPENED,
        sg_message_id="14c5d75ce93.dfd.64b469",
        timeline=[
            {"event": "processed", "at": 1721954000, "sg_event_id": "a1"},
            {"event": "delivered", "at": 1721954003, "sg_event_id": "a2", "response": "250 OK"},
            {"event": "opened", "at": 1721954100, "sg_event_id": "a3"},
        ],
    )


def change_url(message):
    return reverse("admin:liaison_email_emailmessage_change", args=[message.pk])


CHANGELIST = "/admin/liaison_email/emailmessage/"


def test_the_page_shows_subject_text_and_html_body_in_a_sandboxed_iframe(staff_client, message):
    page = staff_client.get(change_url(message)).content.decode()

    assert "Your receipt" in page
    assert "Thanks for your order ORD-1\nTotal: $20.00" in page
    assert 'sandbox=""' in page
    assert f'srcdoc="{html.escape(HTML, quote=True)}"' in page
    # The body is only ever inside the attribute: its markup never reaches the admin page.
    assert "<script>alert(1)</script>" not in page
    assert "<b>ORD-1</b>" not in page


def test_the_timeline_shows_iso_times_and_how_long_ago(staff_client, message):
    page = staff_client.get(change_url(message)).content.decode()

    assert '<time datetime="2024-07-26T00:33:20Z">2024-07-26T00:33:20Z</time>' in page
    assert " ago" in page
    assert "250 OK" in page
    assert "1721954000" not in page  # no raw epochs


@pytest.mark.parametrize("query", ["jenny.rosen@example.com", "JENNY.ROSEN", "accounts@example"])
def test_messages_are_found_by_recipient(staff_client, message, query):
    EmailMessage.objects.create(to=["someone@else.example"], from_email="a@b.c", subject="Other")

    page = staff_client.get(CHANGELIST, {"q": query}).content.decode()

    assert change_url(message) in page
    assert "Other" not in page


def test_the_page_is_read_only(staff_client, message):
    page = staff_client.get(change_url(message)).content.decode()

    assert 'name="_save"' not in page
    assert reverse("admin:liaison_email_emailmessage_delete", args=[message.pk]) not in page
    assert staff_client.post(change_url(message), {"subject": "changed"}).status_code == 403
    assert staff_client.get(reverse("admin:liaison_email_emailmessage_add")).status_code == 403
    message.refresh_from_db()
    assert message.subject == "Your receipt"


def test_the_resend_action_is_still_offered_to_staff_allowed_to_resend(staff_client, message):
    assert b'value="resend"' in staff_client.get(CHANGELIST).content
