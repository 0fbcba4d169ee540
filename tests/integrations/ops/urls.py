"""A view that logs and queues a task (request-id tests)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .worker_tasks import record_request_id_task

logger = logging.getLogger("tests.observability.view")


def log_and_queue(request: HttpRequest) -> HttpResponse:
    logger.info("tests.view secret_in_url=%s", request.GET.get("next", ""))
    record_request_id_task.delay(request.GET.get("key", "rid"))
    return HttpResponse("ok")


urlpatterns = [path("log-and-queue/", log_and_queue)]
