"""`webhook_handler_failures`: a handler that raises is alerted on while its events retry,
not three days later when they go dead (issue 12)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from integrations.ops.alerts import Alert, alerts_evaluate, alerts_state_clear, alerts_sync
from integrations.ops.selectors import health_report
from tests.webhooks.factories import make_endpoint, make_event
from webhooks import handlers
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


@pytest.fixture(autouse=True)
def _clean_alert_state() -> Iterator[None]:
    alerts_state_clear()
    yield
    alerts_state_clear()


@pytest.fixture
def flaky_handler() -> Iterator[dict[str, bool]]:
    """A handler of `liaison.test.flaky` that raises while `state["broken"]` (test only)."""
    state = {"broken": True}

    def handler(event: WebhookEvent) -> None:
        if state["broken"]:
            raise RuntimeError("handler bug")

    registered: Callable[..., object] = handlers.register("stripe", "liaison.test.flaky")(handler)
    yield state
    handlers._HANDLERS[("stripe", "liaison.test.flaky")].remove(registered)


def _ours(alerts: list[Alert]) -> list[str]:
    # Only this rule: with Redis, other rules may see outbound state left by earlier tests.
    return [alert.subject for alert in alerts if alert.code == "webhook_handler_failures"]


def _handler_alerts() -> list[str]:
    return _ours(alerts_evaluate(health_report()))


def test_eleven_events_failing_in_a_handler_raise_the_alert_and_fixing_clears_it(
    flaky_handler: dict[str, bool],
):
    endpoint = make_endpoint(slug="broken-handler", provider="stripe")
    events = [make_event(endpoint=endpoint, event_type="liaison.test.flaky") for _ in range(11)]
    for event in events[:10]:
        assert webhook_event_process(event_pk=event.pk).status == Status.FAILED
    assert _handler_alerts() == []  # 10 is the threshold, not above it

    assert webhook_event_process(event_pk=events[10].pk).status == Status.FAILED
    assert _handler_alerts() == ["broken-handler"]
    raised, _ = alerts_sync(alerts_evaluate(health_report()))
    assert _ours(raised) == ["broken-handler"]

    flaky_handler["broken"] = False  # the handler is fixed; the retries come due and succeed
    WebhookEvent.objects.filter(status=Status.FAILED).update(next_attempt_at=events[0].received_at)
    for event in events:
        assert webhook_event_process(event_pk=event.pk).status == Status.PROCESSED
    assert _handler_alerts() == []
    _, cleared = alerts_sync(alerts_evaluate(health_report()))
    assert _ours(cleared) == ["broken-handler"]


def test_the_threshold_is_a_setting_and_zero_turns_the_rule_off(settings):
    endpoint = make_endpoint(slug="few-failures")
    for _ in range(3):
        make_event(endpoint=endpoint, status=Status.FAILED)

    settings.ALERT_WEBHOOK_FAILED_EVENTS = 2
    assert _handler_alerts() == ["few-failures"]
    settings.ALERT_WEBHOOK_FAILED_EVENTS = 0
    assert _handler_alerts() == []
