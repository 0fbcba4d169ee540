"""Stored webhook events built from the Stripe / SendGrid fixtures."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import WebhookEndpoint, WebhookEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"


def stripe_fixture(event_type: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{event_type}.json").read_text())


def stripe_event(
    payload: dict[str, Any],
    *,
    endpoint: WebhookEndpoint | None = None,
    event_id: str | None = None,
    created: int | None = None,
    **object_changes: Any,
) -> WebhookEvent:
    """A stored Stripe event; `object_changes` patch `data.object`, `created` the event time."""
    payload = copy.deepcopy(payload)
    payload["id"] = event_id or f"evt_{uuid.uuid4().hex[:24]}"
    if created is not None:
        payload["created"] = created
    payload["data"]["object"].update(object_changes)
    return make_event(
        endpoint=endpoint or make_endpoint(provider="stripe"),
        event_id=payload["id"],
        event_type=payload["type"],
        body=json.dumps(payload).encode(),
        occurred_at=datetime.fromtimestamp(payload["created"], tz=UTC),
    )


def sendgrid_event(
    *, endpoint: WebhookEndpoint, event: str, sg_message_id: str, timestamp: int, **fields: Any
) -> WebhookEvent:
    sg_event_id = fields.pop("sg_event_id", uuid.uuid4().hex)
    payload = {
        "email": "jenny.rosen@example.com",
        "timestamp": timestamp,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": ["payment"],
        "sg_event_id": sg_event_id,
        "sg_message_id": sg_message_id,
        **fields,
    }
    return make_event(
        endpoint=endpoint,
        event_id=sg_event_id,
        event_type=event,
        body=json.dumps(payload).encode(),
    )
