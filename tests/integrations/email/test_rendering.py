"""Email parts come from overridable templates; plain-text parts are never HTML-escaped."""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.email.models import EmailMessage
from integrations.email.rendering import email_content_render
from integrations.payments.models import Payment
from integrations.payments.services import payment_email_enqueue

pytestmark = pytest.mark.django_db


def _payment(reference: str) -> Payment:
    return Payment.objects.create(
        stripe_id="pi_3MtwBwLkdIwHu7ix28a3tqPa",
        amount=4200,
        currency="usd",
        status="succeeded",
        receipt_email="jenny.rosen@example.com",
        order_reference=reference,
    )


def test_plain_text_subject_and_body_keep_ampersands_and_angle_brackets():
    message, _ = payment_email_enqueue(payment=_payment("R&D <7>"), outcome="succeeded")
    assert message.subject == "Payment received for R&D <7>"
    content = email_content_render(
        purpose="liaison_payments/email/payment_succeeded",
        context={"order_reference": "R&D <7>", "amount": "42.00", "currency": "USD"},
    )
    assert content.subject == "Payment received for R&D <7>"
    assert "Order: R&D <7>" in content.text
    # The HTML part is still escaped, and wrapped in the overridable email base.
    assert "R&amp;D &lt;7&gt;" in content.html
    assert "<!doctype html>" in content.html


def test_a_host_template_overrides_one_purpose(tmp_path):
    override_dir = tmp_path / "liaison_payments" / "email"
    override_dir.mkdir(parents=True)
    (override_dir / "payment_succeeded_subject.txt").write_text("Thanks! {{ order_reference }}")
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [tmp_path],
            "APP_DIRS": True,
        }
    ]
    with override_settings(TEMPLATES=templates):
        message, _ = payment_email_enqueue(payment=_payment("A&B"), outcome="succeeded")
        content = email_content_render(
            purpose="liaison_payments/email/payment_succeeded",
            context={"order_reference": "A&B", "amount": "1.00", "currency": "USD"},
        )
    assert EmailMessage.objects.get(pk=message.pk).subject == "Thanks! A&B"
    assert "Order: A&B" in content.text  # the parts not overridden still come from Liaison
