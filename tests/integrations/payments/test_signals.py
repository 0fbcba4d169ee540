"""Payment and subscription signals: sent once per applied change, never for a duplicate or an
older event, inside the transaction that writes the change.

Events are the Stripe documentation fixtures in tests/webhooks/fixtures/stripe/, run through
the real processing path (claim → handler → sync)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
import stripe
from django.dispatch import Signal
from django.test import override_settings

from integrations.payments.models import Payment, Subscription
from integrations.payments.services import refund_create
from integrations.payments.signals import (
    payment_failed,
    payment_refunded,
    payment_succeeded,
    subscription_changed,
)
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import stripe_event, stripe_fixture
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_replay

pytestmark = pytest.mark.django_db

PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
SUB = "sub_1NG8Du2eZvKYlo2CHn3n0aTj"


class Received(list[dict[str, Any]]):
    """What a signal's receiver got (kwargs without `signal`)."""


@pytest.fixture
def received() -> Iterator[dict[str, Received]]:
    signals: dict[str, Signal] = {
        "succeeded": payment_succeeded,
        "failed": payment_failed,
        "refunded": payment_refunded,
        "subscription": subscription_changed,
    }
    got = {name: Received() for name in signals}
    receivers = {}
    for name, signal in signals.items():

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal")
            got[_name].append({"sender": sender, **kwargs})

        receivers[name] = receiver
        signal.connect(receiver, weak=False)
    yield got
    for name, signal in signals.items():
        signal.disconnect(receivers[name])


@pytest.fixture
def endpoint():
    return make_endpoint(provider="stripe")


@pytest.fixture(autouse=True)
def _no_payment_emails():
    with override_settings(PAYMENTS_SEND_EMAILS=False):
        yield


def process(event: WebhookEvent) -> str:
    return webhook_event_process(event_pk=event.pk).status


def reprocess(event: WebhookEvent) -> str:
    webhook_event_replay(events=WebhookEvent.objects.filter(pk=event.pk))
    return process(event)


def test_payment_succeeded_is_sent_once_with_the_payment_and_event_type(endpoint, received):
    event = stripe_event(stripe_fixture("payment_intent.succeeded"), endpoint=endpoint)

    assert process(event) == "processed"

    assert len(received["succeeded"]) == 1
    sent = received["succeeded"][0]
    assert sent["sender"] is Payment
    assert sent["event_type"] == "payment_intent.succeeded"
    assert sent["payment"].stripe_id == PI
    assert sent["payment"].status == "succeeded"
    assert received["failed"] == []


def test_payment_succeeded_is_not_resent_for_a_replay_or_a_redelivered_copy(endpoint, received):
    payload = stripe_fixture("payment_intent.succeeded")
    event = stripe_event(payload, endpoint=endpoint)
    process(event)

    assert reprocess(event) == "processed"
    # Stripe may send the same change again under another event id.
    assert process(stripe_event(payload, endpoint=endpoint)) == "processed"

    assert len(received["succeeded"]) == 1


def test_an_older_failure_after_success_sends_nothing(endpoint, received):
    succeeded = stripe_fixture("payment_intent.succeeded")
    failed = stripe_fixture("payment_intent.payment_failed")
    assert failed["created"] < succeeded["created"]  # the documented fixtures' own order
    process(stripe_event(succeeded, endpoint=endpoint))

    process(stripe_event(failed, endpoint=endpoint))

    assert Payment.objects.get(stripe_id=PI).status == "succeeded"
    assert received["failed"] == []
    assert len(received["succeeded"]) == 1


def test_payment_failed_is_sent_once_per_failed_attempt(endpoint, received):
    payload = stripe_fixture("payment_intent.payment_failed")
    first = stripe_event(payload, endpoint=endpoint)
    process(first)
    reprocess(first)
    process(stripe_event(payload, endpoint=endpoint, event_id=None))  # same change, new id

    assert len(received["failed"]) == 1
    assert received["failed"][0]["event_type"] == "payment_intent.payment_failed"
    assert received["failed"][0]["payment"].failure_code

    # The customer tries again and fails again: a newer event is a new failure.
    process(stripe_event(payload, endpoint=endpoint, created=payload["created"] + 60))
    assert len(received["failed"]) == 2


def test_late_success_after_a_failure_is_sent(endpoint, received):
    process(stripe_event(stripe_fixture("payment_intent.payment_failed"), endpoint=endpoint))
    process(stripe_event(stripe_fixture("payment_intent.succeeded"), endpoint=endpoint))

    assert len(received["failed"]) == 1
    assert len(received["succeeded"]) == 1


def test_payment_refunded_is_sent_when_the_refunded_amount_grows(endpoint, received):
    payload = stripe_fixture("charge.refunded")
    process(stripe_event(stripe_fixture("payment_intent.succeeded"), endpoint=endpoint))
    refund = stripe_event(payload, endpoint=endpoint)
    process(refund)
    reprocess(refund)
    process(stripe_event(payload, endpoint=endpoint))  # same amount under another id

    assert len(received["refunded"]) == 1
    sent = received["refunded"][0]
    assert sent["sender"] is Payment
    assert sent["event_type"] == "charge.refunded"
    assert sent["payment"].amount_refunded == payload["data"]["object"]["amount_refunded"]

    more = payload["data"]["object"]["amount_refunded"] + 100
    process(stripe_event(payload, endpoint=endpoint, amount_refunded=more))
    assert len(received["refunded"]) == 2
    assert received["refunded"][1]["payment"].amount_refunded == more


@responses.activate
def test_a_refund_made_through_the_service_is_sent_once_with_no_event_type(
    endpoint, received, monkeypatch
):
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_sleep_time_seconds", lambda self, n: 0)
    payment = Payment.objects.create(
        stripe_id=PI, amount=2000, amount_received=2000, currency="usd", status="succeeded"
    )
    responses.post(
        "https://api.stripe.com/v1/refunds",
        json={"id": "re_1", "object": "refund", "amount": 500, "payment_intent": PI},
    )
    with override_settings(STRIPE_SECRET_KEY="sk_test_" + "x" * 24):
        refund_create(payment=payment, amount=500)
    # Stripe's charge.refunded then reports the amount already recorded.
    process(stripe_event(stripe_fixture("charge.refunded"), endpoint=endpoint))

    assert [(r["event_type"], r["payment"].amount_refunded) for r in received["refunded"]] == [
        (None, 500)
    ]


def test_subscription_changed_reports_the_previous_status(endpoint, received):
    payload = stripe_fixture("customer.subscription.updated")
    created = payload["created"]
    process(stripe_event(payload, endpoint=endpoint))
    process(stripe_event(payload, endpoint=endpoint, created=created + 60, status="past_due"))

    assert [(r["sender"], r["previous_status"]) for r in received["subscription"]] == [
        (Subscription, None),
        (Subscription, "active"),
    ]
    assert received["subscription"][1]["subscription"].status == "past_due"


def test_subscription_changed_is_not_sent_for_a_duplicate_or_an_older_event(endpoint, received):
    payload = stripe_fixture("customer.subscription.updated")
    created = payload["created"]
    newer = stripe_event(payload, endpoint=endpoint, created=created + 60, status="past_due")
    process(newer)
    reprocess(newer)
    process(stripe_event(payload, endpoint=endpoint, created=created + 60, status="past_due"))
    process(stripe_event(payload, endpoint=endpoint, created=created, status="active"))  # older

    assert Subscription.objects.get(stripe_id=SUB).status == "past_due"
    assert len(received["subscription"]) == 1


def test_a_receiver_that_raises_rolls_the_change_back_and_fails_the_event(endpoint):
    def broken(sender: Any, **kwargs: Any) -> None:
        Payment.objects.filter(pk=kwargs["payment"].pk).update(description="written by receiver")
        raise RuntimeError("receiver broke")

    payment_succeeded.connect(broken, weak=False)
    try:
        event = stripe_event(stripe_fixture("payment_intent.succeeded"), endpoint=endpoint)
        assert process(event) == "failed"
    finally:
        payment_succeeded.disconnect(broken)

    event.refresh_from_db()
    assert event.last_error == "RuntimeError: receiver broke"
    assert not Payment.objects.filter(stripe_id=PI).exists()
    # Retried once the receiver works again: the change and the signal happen then.
    assert reprocess(event) == "processed"
    assert Payment.objects.get(stripe_id=PI).status == "succeeded"
