"""Admin actions: refund and cancel subscription go through a confirmation page."""

from __future__ import annotations

import pytest
import responses
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import override_settings
from django.urls import reverse

from integrations.payments.models import Payment, Subscription

pytestmark = pytest.mark.django_db

API = "https://api.stripe.com"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    with override_settings(STRIPE_SECRET_KEY="sk_test_" + "y" * 24):
        yield client


@responses.activate
def test_refund_action_asks_for_confirmation_then_refunds(staff_client):
    payment = Payment.objects.create(
        stripe_id="pi_1", amount=2000, amount_received=2000, currency="usd", status="succeeded"
    )
    url = reverse("admin:liaison_payments_payment_changelist")
    data = {"action": "refund", ACTION_CHECKBOX_NAME: [payment.pk]}
    page = staff_client.post(url, data)
    assert page.status_code == 200
    assert b"Refund these payments?" in page.content
    assert not responses.calls

    responses.post(f"{API}/v1/refunds", json={"id": "re_1", "object": "refund", "amount": 2000})
    done = staff_client.post(url, {**data, "confirmed": "yes"}, follow=True)
    assert b"Refunded 1 row(s)." in done.content
    payment.refresh_from_db()
    assert payment.amount_refunded == 2000


@responses.activate
def test_cancel_subscription_at_period_end_from_the_admin(staff_client):
    sub = Subscription.objects.create(stripe_id="sub_1", status="active")
    responses.post(
        f"{API}/v1/subscriptions/sub_1",
        json={
            "id": "sub_1",
            "object": "subscription",
            "status": "active",
            "cancel_at_period_end": True,
            "items": {"object": "list", "data": []},
        },
    )
    url = reverse("admin:liaison_payments_subscription_changelist")
    data = {"action": "cancel_subscription", ACTION_CHECKBOX_NAME: [sub.pk]}
    assert b"Cancel these subscriptions?" in staff_client.post(url, data).content
    staff_client.post(url, {**data, "confirmed": "yes", "when": "period_end"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end is True
