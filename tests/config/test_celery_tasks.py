"""Every task the project queues or schedules is registered with the app at start-up."""

from __future__ import annotations

from celery import current_app
from django.conf import settings


def test_the_worker_knows_every_task_the_project_sends_or_schedules():
    current_app.loader.import_default_modules()
    registered = set(current_app.tasks)
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled, "no periodic tasks configured"
    assert scheduled <= registered, scheduled - registered
    assert {
        "webhooks.tasks.webhook_events_process_task",
        "integrations.email.tasks.email_message_send_task",
    } <= registered
