"""The payments services against `responses` on https://api.stripe.com, through the real SDK."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses
import stripe
from django.test import override_settings

from integrations.core.exceptions import RateLimitExceeded
from integrations.payments import services
from integrations.payments.exceptions import (
    PaymentDeclined,
    PaymentGatewayError,
    PaymentRequestError,
    StripeConfigurationError,
)
from integrations.payments.models import Payment, StripeSyncCursor
from integrations.payments.services import stripe_resource_sync

pytestmark = pytest.mark.django_db

API = "https://api.stripe.com"
FAKE_KEY = "sk_test_" + "x" * 24


@pytest.fixture(autouse=True)
def _stripe_settings(monkeypatch):
    # The SDK's retry backoff must not sleep in tests.
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_sleep_time_seconds", lambda self, n: 0)
    with override_settings(STRIPE_SECRET_KEY=FAKE_KEY, STRIPE_MAX_NETWORK_RETRIES=2):
        yield


def intent(**overrides):
    body = {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 2000,
        "amount_received": 0,
        "automatic_payment_methods": {"enabled": True},
        "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_FAKE",
        "created": 1680064020,
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "livemode": False,
        "metadata": {"order_reference": "ORD-9"},
        "status": "requires_payment_method",
    }
    body.update(overrides)
    return body


def stripe_error(status, error, *, should_retry="false"):
    return {
        "status": status,
        "json": {"error": error},
        "headers": {"Request-Id": "req_FAKE123", "Stripe-Should-Retry": should_retry},
    }


def form(call):
    return parse_qs(call.request.body)


def test_no_key_fails_with_a_clear_configuration_error():
    with override_settings(STRIPE_SECRET_KEY=""), pytest.raises(StripeConfigurationError) as info:
        services.payment_intent_create(amount=100, currency="usd", order_reference="O1")
    assert "STRIPE_SECRET_KEY not set" in str(info.value)


@responses.activate
def test_create_payment_intent_sends_amount_metadata_and_a_stable_idempotency_key():
    responses.post(f"{API}/v1/payment_intents", json=intent())
    service = services
    payment, secret = service.payment_intent_create(
        amount=2000, currency="USD", order_reference="ORD-9", customer="cus_NffrFeUfNV2Hib"
    )
    service.payment_intent_create(
        amount=2000, currency="USD", order_reference="ORD-9", customer="cus_NffrFeUfNV2Hib"
    )
    first, second = responses.calls
    body = form(first)
    assert body["amount"] == ["2000"]
    assert body["currency"] == ["usd"]
    assert body["metadata[order_reference]"] == ["ORD-9"]
    assert body["automatic_payment_methods[enabled]"] == ["true"]
    assert body["customer"] == ["cus_NffrFeUfNV2Hib"]
    key = first.request.headers["Idempotency-Key"]
    assert key.startswith("liaison-pi-create-")
    assert second.request.headers["Idempotency-Key"] == key
    assert first.request.headers["Stripe-Version"] == "2026-10-28.endive"
    assert first.request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert secret.endswith("_secret_FAKE")
    assert payment.order_reference == "ORD-9"
    assert Payment.objects.count() == 1


@responses.activate
def test_caller_supplied_idempotency_key_is_used_and_sdk_retries_with_it():
    responses.post(
        f"{API}/v1/payment_intents", **stripe_error(500, {"type": "api_error"}, should_retry="true")
    )
    responses.post(f"{API}/v1/payment_intents", json=intent())
    services.payment_intent_create(
        amount=2000, currency="usd", order_reference="ORD-9", idem_key="checkout-42"
    )
    assert len(responses.calls) == 2
    assert {c.request.headers["Idempotency-Key"] for c in responses.calls} == {"checkout-42"}


@responses.activate
def test_refund_partial_sends_amount_and_key_and_records_it():
    payment = Payment.objects.create(
        stripe_id="pi_1", amount=2000, amount_received=2000, currency="usd", status="succeeded"
    )
    responses.post(
        f"{API}/v1/refunds",
        json={
            "id": "re_1",
            "object": "refund",
            "amount": 500,
            "payment_intent": "pi_1",
            "status": "succeeded",
        },
    )
    updated = services.refund_create(payment=payment, amount=500)
    call = responses.calls[0]
    assert form(call) == {"payment_intent": ["pi_1"], "amount": ["500"]}
    assert call.request.headers["Idempotency-Key"].startswith("liaison-refund-")
    assert updated.amount_refunded == 500
    assert updated.refundable_amount == 1500


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (
            402,
            {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
                "param": "",
            },
            PaymentDeclined,
        ),
        (
            429,
            {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"},
            RateLimitExceeded,
        ),
        (
            401,
            {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided: sk_test_****xxxx",
            },
            StripeConfigurationError,
        ),
        (
            403,
            {"type": "invalid_request_error", "message": "The provided key does not have access"},
            StripeConfigurationError,
        ),
        (
            400,
            {
                "type": "invalid_request_error",
                "code": "parameter_invalid_integer",
                "param": "amount",
                "message": "Invalid integer: abc",
            },
            PaymentRequestError,
        ),
        (
            404,
            {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "intent",
                "message": "No such payment_intent",
            },
            PaymentRequestError,
        ),
        (
            400,
            {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same parameters",
            },
            PaymentRequestError,
        ),
        (500, {"type": "api_error", "message": "Internal error"}, PaymentGatewayError),
    ],
)
@responses.activate
def test_stripe_errors_are_mapped_once(status, error, expected):
    responses.post(f"{API}/v1/payment_intents", **stripe_error(status, error))
    with pytest.raises(expected) as info:
        services.payment_intent_create(amount=2000, currency="usd", order_reference="O")
    exc = info.value
    assert isinstance(exc.__cause__, stripe.StripeError)
    if expected is PaymentDeclined:
        assert exc.decline_code == "insufficient_funds"
        assert str(exc) == "Your card has insufficient funds."
    if expected is PaymentRequestError and error.get("param"):
        assert exc.param == error["param"]
        assert error["message"] not in str(exc)  # raw message for logs only
        assert exc.detail == error["message"]
    if expected is StripeConfigurationError:
        assert "STRIPE_SECRET_KEY" in str(exc)
        assert "sk_test" not in str(exc)
    if expected is PaymentGatewayError:
        assert exc.request_id == "req_FAKE123"


@responses.activate
def test_subscription_create_expands_the_confirmation_secret():
    responses.post(
        f"{API}/v1/subscriptions",
        json={
            "id": "sub_1",
            "object": "subscription",
            "customer": "cus_1",
            "status": "incomplete",
            "cancel_at_period_end": False,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": "si_1",
                        "object": "subscription_item",
                        "current_period_end": 1688681970,
                        "price": {"id": "price_1", "object": "price"},
                    }
                ],
            },
            "latest_invoice": {
                "id": "in_1",
                "object": "invoice",
                "confirmation_secret": {
                    "client_secret": "pi_1_secret_FAKE",
                    "type": "payment_intent",
                },
            },
        },
    )
    start = services.subscription_create(customer="cus_1", price_id="price_1")
    body = form(responses.calls[0])
    assert body["payment_behavior"] == ["default_incomplete"]
    assert body["expand[0]"] == ["latest_invoice.confirmation_secret"]
    assert body["items[0][price]"] == ["price_1"]
    assert responses.calls[0].request.headers["Idempotency-Key"].startswith("liaison-sub-create-")
    assert start.client_secret == "pi_1_secret_FAKE"
    assert start.subscription.latest_invoice_id == "in_1"


@responses.activate
def test_cancel_at_period_end_updates_instead_of_deleting():
    sub = {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_1",
        "status": "active",
        "cancel_at_period_end": True,
        "items": {"object": "list", "data": []},
    }
    responses.post(f"{API}/v1/subscriptions/sub_1", json=sub)
    responses.delete(
        f"{API}/v1/subscriptions/sub_1",
        json={**sub, "status": "canceled", "cancel_at_period_end": False},
    )
    service = services
    assert (
        service.subscription_cancel(subscription="sub_1", at_period_end=True).cancel_at_period_end
        is True
    )
    assert form(responses.calls[0]) == {"cancel_at_period_end": ["true"]}
    assert service.subscription_cancel(subscription="sub_1").status == "canceled"
    assert responses.calls[1].request.method == "DELETE"


@responses.activate
def test_stripe_sync_pages_and_resumes_from_the_saved_cursor():
    page1 = {
        "object": "list",
        "url": "/v1/payment_intents",
        "has_more": True,
        "data": [intent(id="pi_a"), intent(id="pi_b")],
    }
    page2 = {
        "object": "list",
        "url": "/v1/payment_intents",
        "has_more": False,
        "data": [intent(id="pi_c")],
    }
    responses.get(f"{API}/v1/payment_intents", json=page1)
    report = stripe_resource_sync(resource="payments", page_size=2, max_pages=1)  # interrupted
    assert report.objects == 2
    assert StripeSyncCursor.objects.get(resource="payments").starting_after == "pi_b"

    responses.replace(responses.GET, f"{API}/v1/payment_intents", json=page2)
    report = stripe_resource_sync(resource="payments", page_size=2)
    assert report.resumed_after == "pi_b"
    assert "starting_after=pi_b" in responses.calls[-1].request.url
    assert set(Payment.objects.values_list("stripe_id", flat=True)) == {"pi_a", "pi_b", "pi_c"}
    assert StripeSyncCursor.objects.get(resource="payments").completed_at is not None
