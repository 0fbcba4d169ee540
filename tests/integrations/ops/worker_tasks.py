"""Tasks for the request-id tests (imported by the test process and, with --include, by a real
worker): each records the request id it ran under in the Django cache."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from integrations.ops.logs import current_request_id

logger = logging.getLogger("tests.observability.tasks")


@shared_task(name="tests.observability.record_request_id")
def record_request_id_task(key: str) -> None:
    logger.info("tests.task_ran key=%s", key)
    cache.set(key, current_request_id() or "", timeout=120)
