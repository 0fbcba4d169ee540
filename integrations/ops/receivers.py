"""Connections made at startup (`OpsConfig.ready`, in web and worker processes)."""

from __future__ import annotations


def connect() -> None:
    from integrations.ops import tasks  # noqa: F401  (registers the periodic task)
    from integrations.ops.logs import connect_celery_signals
    from integrations.ops.services import connect_alert_receivers

    connect_celery_signals()
    connect_alert_receivers()
    from integrations.ops.outbound_totals import outbound_attempt_observe
    from integrations.outbound.guard import attempt_listeners

    if outbound_attempt_observe not in attempt_listeners:
        attempt_listeners.append(outbound_attempt_observe)
