"""The done-when check: a signed Stripe sample delivery through POST /webhooks/<slug>/."""

from __future__ import annotations

import time
import uuid

import pytest

from integrations.email.models import EmailMessage
from integrations.payments.models import Payment
from tests.webhooks.factories import fake_secret, make_endpoint
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

pytestmark = pytest.mark.django_db


def _post_sample(client, endpoint, secret, event_id):
    provider = get_provider("stripe")
    body = provider.sample_body("payment_intent.succeeded", event_id=event_id)
    signed = provider.sign(
        body,
        EndpointSecrets(secrets=(secret,)),
        url=f"http://testserver{endpoint.path}",
        timestamp=int(time.time()),
    )
    return client.post(
        endpoint.path,
        data=body,
        content_type=signed.content_type,
        headers=signed.headers,
    ), body


def test_sample_succeeded_delivery_marks_payment_and_records_one_email(
    client, django_capture_on_commit_callbacks
):
    secret = fake_secret()
    endpoint = make_endpoint(provider="stripe", secret=secret)
    event_id = f"evt_{uuid.uuid4().hex[:24]}"
    with django_capture_on_commit_callbacks(execute=True):
        response, _body = _post_sample(client, endpoint, secret, event_id)
    assert response.status_code < 300, response.content
    with django_capture_on_commit_callbacks(execute=True):
        again, _ = _post_sample(client, endpoint, secret, event_id)  # duplicate delivery
    assert again.status_code < 300

    payment = Payment.objects.get()
    assert payment.status == "succeeded"
    assert payment.order_reference == "ORD-1001"
    messages = EmailMessage.objects.filter(purpose_key=f"payment:{payment.stripe_id}:succeeded")
    assert messages.count() == 1
    assert EmailMessage.objects.count() == 1


def test_processing_the_same_event_again_sends_nothing_more(
    client, django_capture_on_commit_callbacks
):
    secret = fake_secret()
    endpoint = make_endpoint(provider="stripe", secret=secret)
    with django_capture_on_commit_callbacks(execute=True):
        _post_sample(client, endpoint, secret, f"evt_{uuid.uuid4().hex[:24]}")
    from webhooks.models import WebhookEvent
    from webhooks.services.processing import webhook_event_replay

    with django_capture_on_commit_callbacks(execute=True):
        replayed = webhook_event_replay(events=WebhookEvent.objects.all())
    assert replayed == 1
    assert WebhookEvent.objects.get().status == "processed"
    assert EmailMessage.objects.count() == 1
