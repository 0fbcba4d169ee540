"""Shared fixtures of the payments tests: every signal's receptions, events processed through
the real path (claim → handler → sync)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.payments import signals as payment_signals
from tests.webhooks.factories import make_endpoint
from tests.webhooks.handlers.factories import stripe_event, stripe_fixture
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_replay


class Signals(dict[str, list[dict[str, Any]]]):
    """Signal name → the kwargs of each reception (without `signal`)."""


@pytest.fixture
def sent() -> Iterator[Signals]:
    got = Signals({name: [] for name in payment_signals.__all__})
    receivers = {}
    for name in payment_signals.__all__:

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal")
            got[_name].append({"sender": sender, **kwargs})

        receivers[name] = receiver
        getattr(payment_signals, name).connect(receiver, weak=False)
    yield got
    for name, receiver in receivers.items():
        getattr(payment_signals, name).disconnect(receiver)


@pytest.fixture
def stripe_endpoint() -> WebhookEndpoint:
    return make_endpoint(provider="stripe")


@pytest.fixture
def deliver(stripe_endpoint: WebhookEndpoint) -> Any:
    """deliver("invoice.paid", created=…, **object_changes) → the processed event's status.
    Each call is a new delivery (a new event id) unless `event_id` is given."""

    def run(name: str, **kwargs: Any) -> str:
        event = stripe_event(stripe_fixture(name), endpoint=stripe_endpoint, **kwargs)
        return webhook_event_process(event_pk=event.pk).status

    return run


def replay_all() -> list[str]:
    """Replay every stored event (a retried processing run) and process them again."""
    events = WebhookEvent.objects.order_by("pk")
    webhook_event_replay(events=events)
    return [webhook_event_process(event_pk=pk).status for pk in events.values_list("pk", flat=True)]
