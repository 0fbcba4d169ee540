"""Structured logs: a JSON formatter and a request id that follows a request into its tasks.

- `RequestIdMiddleware` takes a well-formed incoming `X-Request-ID` (8-128 characters of
  letters, digits, `-`, `_`, `.`, `:`) or makes a new one, keeps it in a context variable for
  the request, and echoes it in the response's `X-Request-ID`.
- `RequestContextFilter` (on every handler) copies it, and the Celery task id, onto each record
  as `request_id` / `task_id`, so plain and JSON lines both carry them.
- `JsonFormatter` renders a record as one JSON object (python-json-logger) after the redacting
  filter has run; structured extras that are not strings (dicts, lists) are redacted here too.
- Celery: `before_task_publish` adds the id to the message headers, `task_prerun` restores it
  in the worker (a task queued outside any request gets a fresh id), `task_postrun` resets it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from integrations.core.redaction import redact_data

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"  # read from META: `request.headers` costs a parse of it
TASK_HEADER = "liaison_request_id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "liaison_request_id", default=None
)
_task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "liaison_task_id", default=None
)


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    """32 random hex digits (as `uuid4().hex`, without building a UUID on every request)."""
    return secrets.token_hex(16)


def accepted_request_id(value: str | None) -> str | None:
    """`value` when it is a well-formed request id, else None (it then gets replaced)."""
    if value and _VALID_ID.match(value):
        return value
    return None


def bind_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def unbind_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


class RequestIdMiddleware:
    """Binds a request id for the duration of the request (first in MIDDLEWARE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.META.get(_REQUEST_ID_META)) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = bind_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            unbind_request_id(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `task_id` (None outside a request / task) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        if getattr(record, "task_id", None) is None:
            record.task_id = _task_id.get()
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, request/task ids, extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "fmt", ["asctime", "levelname", "name", "message", "request_id", "task_id"]
        )
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S%z")
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The redacting filter already cleaned the message and string extras; the marker it
        # honours is noise in the output, and nested values are cleaned here.
        log_data.pop("redacted", None)
        return {
            key: value if isinstance(value, str) else redact_data(value)
            for key, value in log_data.items()
        }


# --- Celery ----------------------------------------------------------------------------------


def task_publishing(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """before_task_publish: the publishing request's id travels in the message headers."""
    request_id = _request_id.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, tuple[contextvars.Token[str | None], contextvars.Token[str | None]]] = {}


def task_starting(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """task_prerun: bind the id the task was queued with (a fresh one when there was none).

    An eager task runs inside the caller and simply keeps the caller's id.
    """
    request = getattr(task, "request", None)
    eager = bool(getattr(request, "is_eager", False))
    carried = accepted_request_id(_header_of(request))
    if eager and not carried:
        carried = _request_id.get()
    tokens = (_request_id.set(carried or new_request_id()), _task_id.set(task_id))
    if task_id:
        _task_tokens[task_id] = tokens


def task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    """task_postrun: restore what was bound before the task (nothing leaks to the next one)."""
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens is None:
        return
    request_token, task_token = tokens
    try:
        _task_id.reset(task_token)
        _request_id.reset(request_token)
    except ValueError:  # reset from another context: clear instead
        _task_id.set(None)
        _request_id.set(None)


def _header_of(request: Any) -> str | None:
    if request is None:
        return None
    value = getattr(request, TASK_HEADER, None)
    if value is None:
        headers = getattr(request, "headers", None) or {}
        value = headers.get(TASK_HEADER) if isinstance(headers, dict) else None
    return value if isinstance(value, str) else None


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(task_publishing, dispatch_uid="liaison.request_id.pub")
    signals.task_prerun.connect(task_starting, dispatch_uid="liaison.request_id.prerun")
    signals.task_postrun.connect(task_finished, dispatch_uid="liaison.request_id.postrun")
