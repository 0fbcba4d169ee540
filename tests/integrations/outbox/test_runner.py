"""Without a broker: rows are performed right after commit, and the in-process relay thread
(`OUTBOX_EAGER_RELAY`) sweeps up a row whose first attempt failed."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from integrations.core.exceptions import ServerError
from integrations.outbox.models import OutboxItem
from integrations.outbox.registry import outbox_action_register
from integrations.outbox.relay import outbox_runner
from integrations.outbox.services import outbox_enqueue


@pytest.mark.django_db(transaction=True)
def test_the_relay_thread_retries_a_failed_row_without_a_broker():
    calls: list[str] = []

    def flaky(item: OutboxItem) -> None:
        calls.append(threading_name())
        if len(calls) == 1:
            raise ServerError(service="sendgrid", status=503)

    outbox_action_register("test.flaky", flaky)
    with override_settings(
        OUTBOX_EAGER_RELAY=True, OUTBOX_RETRY_SCHEDULE=[0], OUTBOX_RELAY_INTERVAL_SECONDS=0.2
    ):
        try:
            item = outbox_enqueue(purpose_key="k:flaky", action="test.flaky", payload={})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                item.refresh_from_db()
                if item.status == OutboxItem.Status.DONE:
                    break
                time.sleep(0.1)
        finally:
            outbox_runner.stop()
    assert item.status == OutboxItem.Status.DONE
    assert calls == ["MainThread", "outbox-relay"]


def threading_name() -> str:
    import threading

    return threading.current_thread().name
