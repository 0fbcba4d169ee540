"""Bodies whose text not every database or encoder accepts: lone surrogates, NUL, numbers JSON
cannot hold, deep nesting. The stored bytes stay as received; what is parsed from them is
processed, and shown in the admin and the staff API, without an error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from integrations.payments.models import Payment
from tests.webhooks.factories import make_endpoint, make_event
from tests.webhooks.handlers.factories import stripe_fixture
from webhooks.models import PAYLOAD_NOT_DISPLAYABLE, WebhookEvent, event_body_parse
from webhooks.services.processing import webhook_event_process

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status

PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
DEEP = 900


def _body(*, description: str = "Order ORD-2001", **object_fields: Any) -> bytes:
    payload = stripe_fixture("payment_intent.succeeded")
    payload["data"]["object"].update(description=description, **object_fields)
    # ensure_ascii (the default): lone surrogates and NUL become \u escapes, as JS sends them.
    return json.dumps(payload).encode()


def _nonfinite_body() -> bytes:
    text = _body(metadata={"order_reference": "ORD-2001", "nan": "@nan", "inf": "@inf"}).decode()
    text = text.replace('"@nan"', "NaN").replace('"@inf"', "-Infinity")
    return text.replace('"amount_capturable": 0', '"amount_capturable": 1e400').encode()


def _deep_body() -> bytes:
    nested = "[" * DEEP + "]" * DEEP
    return _body().decode().replace('"application": null', f'"application": {nested}').encode()


BODIES = {
    "lone_surrogate": lambda: _body(description="Thanks \ud83d"),
    "nul": lambda: _body(
        description="Order\x00 2001", metadata={"order_reference": "ORD-2001", "note": "a\x00b"}
    ),
    "nonfinite_numbers": _nonfinite_body,
    "deep_array": _deep_body,
}


def _stored(body: bytes) -> WebhookEvent:
    return make_event(
        endpoint=make_endpoint(provider="stripe"),
        event_type="payment_intent.succeeded",
        body=body,
    )


def _strict_json(content: bytes) -> Any:
    def refuse(literal: str) -> Any:
        raise AssertionError(f"not valid JSON: {literal}")

    return json.loads(content, parse_constant=refuse)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_event_is_processed_and_its_bytes_are_kept(kind):
    body = BODIES[kind]()
    event = _stored(body)

    outcome = webhook_event_process(event_pk=event.pk)

    event.refresh_from_db()
    assert (outcome.status, event.status, event.last_error) == (
        Status.PROCESSED,
        Status.PROCESSED,
        "",
    )
    assert event.raw_body == body
    assert Payment.objects.get(stripe_id=PI).status == "succeeded"


def test_lone_surrogate_reaches_the_handler_as_a_replacement_character():
    webhook_event_process(event_pk=_stored(BODIES["lone_surrogate"]()).pk)

    assert Payment.objects.get(stripe_id=PI).description == "Thanks \ufffd"


def test_nul_is_removed_from_values_the_handler_stores():
    webhook_event_process(event_pk=_stored(BODIES["nul"]()).pk)

    payment = Payment.objects.get(stripe_id=PI)
    assert payment.description == "Order 2001"
    assert payment.metadata == {"order_reference": "ORD-2001", "note": "ab"}


def test_numbers_json_cannot_hold_are_kept_as_their_text():
    webhook_event_process(event_pk=_stored(_nonfinite_body()).pk)

    payment = Payment.objects.get(stripe_id=PI)
    assert payment.metadata == {"order_reference": "ORD-2001", "nan": "NaN", "inf": "-Infinity"}


def test_parsing_keeps_paired_surrogates_and_cleans_keys_arrays_and_form_fields():
    parsed = event_body_parse(b'{"\\u0000k\\ud800": ["\\ud83d\\ude00", "x\\u0000", 1.5]}')
    form = event_body_parse(
        b"Body=a%00b&To=%ED%A0%BD", content_type="application/x-www-form-urlencoded"
    )

    assert parsed == {"k\ufffd": ["\U0001f600", "x", 1.5]}
    assert form == {"Body": "ab", "To": "\ufffd\ufffd\ufffd"}
    assert event_body_parse(b"not json \\ud83d") == "not json \\ud83d"


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_admin_event_page_answers(kind, admin_client):
    event = _stored(BODIES[kind]())

    response = admin_client.get(
        reverse("admin:liaison_webhooks_webhookevent_change", args=[event.pk])
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert (PAYLOAD_NOT_DISPLAYABLE in page) is (kind == "deep_array")
    assert "evt_" in page


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_staff_api_event_detail_answers_valid_json(kind, admin_client):
    event = _stored(BODIES[kind]())

    response = admin_client.get(reverse("liaison_api:staff-webhook-event", args=[event.pk]))

    assert response.status_code == 200
    data = _strict_json(response.content)
    assert data["pretty_payload"]
    if kind == "deep_array":
        assert data["payload_note"] == PAYLOAD_NOT_DISPLAYABLE
        assert data["payload"] == event.raw_body.decode()
    else:
        assert data["payload_note"] == ""
        assert data["payload"]["data"]["object"]["id"] == PI
    if kind == "nonfinite_numbers":
        assert data["payload"]["data"]["object"]["amount_capturable"] == "1e400"
