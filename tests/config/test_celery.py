"""Celery configuration: JSON only, late acks with redelivery, eager without a broker."""

from __future__ import annotations

import pytest
from celery import current_app
from django.conf import settings


def test_tasks_are_acknowledged_late_and_requeued_when_the_worker_dies():
    conf = current_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_only_json_is_accepted():
    conf = current_app.conf

    assert conf.task_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_settings_run_tasks_eagerly_without_a_broker(monkeypatch):
    import importlib
    import os

    import config.settings as real_settings

    monkeypatch.setenv("CELERY_BROKER_URL", "")
    monkeypatch.setenv("SECRET_KEY", settings.SECRET_KEY)
    try:
        reloaded = importlib.reload(real_settings)
        assert reloaded.CELERY_TASK_ALWAYS_EAGER is True
        monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
        reloaded = importlib.reload(real_settings)
        assert reloaded.CELERY_TASK_ALWAYS_EAGER is False
    finally:
        os.environ.pop("CELERY_BROKER_URL", None)
        importlib.reload(real_settings)


@pytest.mark.celery_worker
def test_a_real_worker_answers_through_the_broker(celery_worker_process):
    replies = current_app.control.ping(timeout=2)

    assert replies, "no worker answered over the broker"
    assert celery_worker_process.poll() is None
