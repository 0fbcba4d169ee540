"""Connections made at startup (`IntegrationsConfig.ready`, in web and worker processes)."""

from __future__ import annotations


def connect() -> None:
    from integrations.observability import tasks  # noqa: F401  (registers the periodic task)
    from integrations.observability.logs import connect_celery_signals
    from integrations.observability.services import connect_alert_receivers

    connect_celery_signals()
    connect_alert_receivers()
