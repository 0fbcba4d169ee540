"""`ServiceClient`: every outbound HTTP call Liaison makes, one service at a time.

    client = ServiceClient("sendgrid")
    response = client.post("/v3/mail/send", json=message, idempotency_key=True)

Configuration is read from settings on every call (see `integrations.outbound.resilience.config`).
Per attempt: admission (breaker + limiter, shared through Redis when REDIS_URL is set), the
request with a (connect, read) timeout, one log line, metrics. Failures become the typed
errors of `integrations.core.exceptions`; connection errors, timeouts, 5xx and 429 are retried with
capped exponential backoff and full jitter (or the provider's Retry-After), but a POST or PATCH
only when it carries an idempotency key (the same key on every attempt).
"""

from __future__ import annotations

import http.cookiejar
import logging
import os
import threading
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.core.exceptions import (
    ClientError,
    IntegrationError,
    RateLimitExceeded,
    ServerError,
    Timeout,
    TransportError,
)
from integrations.core.redaction import redact_data, redact_text, redact_url, scrub_exception_chain
from integrations.outbound.http.retry import (
    IDEMPOTENT_METHODS,
    backoff_delay,
    is_retryable,
    server_wait,
)
from integrations.outbound.http.urls import resolve_url
from integrations.outbound.resilience import runtime as runtime_module
from integrations.outbound.resilience.config import ServiceConfig, service_config
from integrations.outbound.resilience.guard import get_guard
from integrations.outbound.resilience.runtime import Runtime

logger = logging.getLogger(__name__)

TimeoutArg = float | tuple[float, float] | None

_local = threading.local()


def _shared_session() -> requests.Session:
    """One keep-alive session per thread (and per process: never reuse a parent's sockets)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None or getattr(_local, "pid", None) != os.getpid():
        session = requests.Session()
        # API calls carry their credentials explicitly; cookies must not leak between calls.
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        _local.session, _local.pid = session, os.getpid()
    return session


class ServiceClient:
    """HTTP client of one configured service. Cheap to create; safe to share between threads.

    `session` and `runtime` are for tests and benchmarks (a custom `requests.Session`; an
    injected clock, sleeper and jitter source).
    """

    def __init__(
        self,
        service: str,
        *,
        session: requests.Session | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.service = service
        self._session = session
        self._runtime = runtime

    def __repr__(self) -> str:
        return f"ServiceClient({self.service!r})"

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        timeout: TimeoutArg = None,
        idempotency_key: str | bool | None = None,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """Send the request; return the 2xx/3xx `requests.Response` or raise.

        `url` is a path joined to the service's `base_url`, or an absolute https URL.
        `timeout`: seconds for both phases, `(connect, read)`, or None for the service's.
        `idempotency_key`: a string, or True to generate one; sent in the service's
        `idempotency_header` and the same on every attempt. POST and PATCH are retried only
        with one (a key the caller put in `headers` under that name counts too).

        Raises `ClientError` (4xx), `RateLimitExceeded` (429 or no budget),
        `ServerError` (5xx), `Timeout`, `TransportError`, `ServiceUnavailable` (breaker open),
        `InsecureURLError`/`UnknownServiceError` (configuration, `ImproperlyConfigured`).
        """
        cfg = service_config(self.service)
        rt = self._runtime or runtime_module.current()
        method = method.upper()
        full_url = resolve_url(cfg.base_url, url, service=self.service)
        safe_url = redact_url(full_url)
        send_headers = dict(headers or {})
        if idempotency_key is True:
            idempotency_key = uuid.uuid4().hex
        if idempotency_key:
            send_headers[cfg.idempotency_header] = str(idempotency_key)
        has_key = any(k.lower() == cfg.idempotency_header.lower() for k in send_headers)
        may_retry = method in IDEMPOTENT_METHODS or has_key
        send_timeout = _timeout(timeout, cfg)
        guard = get_guard(self.service)
        session = self._session or _shared_session()
        context: dict[str, Any] = {"service": self.service, "method": method, "url": safe_url}

        attempt = 0
        last_error: IntegrationError | None = None
        while True:
            attempt += 1
            try:
                admission = guard.admit(cfg, rt, method=method, url=safe_url)
            except IntegrationError as rejected:
                if last_error is not None:  # the breaker opened (or budget ran out) mid-retries
                    rejected.__cause__ = last_error
                raise
            response: requests.Response | None = None
            error: IntegrationError | None = None
            started = rt.perf_counter()
            try:
                response = session.request(
                    method,
                    full_url,
                    params=params,
                    data=data,
                    json=json,
                    headers=send_headers,
                    auth=auth,
                    timeout=send_timeout,
                    allow_redirects=allow_redirects,
                )
            except requests.Timeout as exc:
                error = _chain(Timeout(**context), exc)
            except requests.RequestException as exc:
                error = _chain(TransportError(**context), exc)
            duration = rt.perf_counter() - started

            wait: float | None = None
            if response is not None:
                error = _error_for(response, cfg, rt, context)
                if error is not None:
                    wait = server_wait(response.headers, now=rt.clock())
            delay = None
            if error is not None and may_retry and attempt <= cfg.retries and is_retryable(error):
                delay = self._retry_delay(cfg, rt, attempt, wait)
            guard.record(
                cfg,
                rt,
                admission,
                duration=duration,
                attempt=attempt,
                error=error,
                failure=isinstance(error, ServerError | TransportError),
                retrying=delay is not None,
            )
            if isinstance(error, RateLimitExceeded):
                guard.pause(cfg, rt, min(wait if wait is not None else 1.0, cfg.retry_after_max))
            _log_attempt(self.service, method, full_url, response, error, duration, attempt)
            if error is None:
                if response is None:  # pragma: no cover - _attempt always sets one of them
                    raise RuntimeError("an attempt returned neither a response nor an error")
                return response
            if delay is None:
                if wait is not None and isinstance(error, RateLimitExceeded):
                    error.retry_at = _retry_at(rt, wait)
                raise error
            last_error = error
            rt.sleep(delay)

    def _retry_delay(
        self, cfg: ServiceConfig, rt: Runtime, attempt: int, server_asked: float | None
    ) -> float | None:
        """Seconds before the next attempt, or None when the provider asks for longer than
        `retry_after_max` (then the error is raised now, carrying when to come back)."""
        if server_asked is not None:
            return server_asked if server_asked <= cfg.retry_after_max else None
        return backoff_delay(
            attempt, base=cfg.backoff_base, cap=cfg.backoff_cap, uniform=rt.uniform
        )


def _timeout(timeout: TimeoutArg, cfg: ServiceConfig) -> float | tuple[float, float]:
    if timeout is None:
        return cfg.timeout
    return timeout


def _chain(error: IntegrationError, cause: BaseException) -> IntegrationError:
    """Attach the library exception as the cause, with credentials scrubbed from its text."""
    scrub_exception_chain(cause)
    error.__cause__ = cause
    return error


def _retry_at(rt: Runtime, wait: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(rt.clock() + wait, UTC)


def _request_id(response: requests.Response, cfg: ServiceConfig) -> str | None:
    for name in cfg.request_id_headers:
        value = response.headers.get(name)
        if value:
            return redact_text(value)[:200]
    return None


def _error_for(
    response: requests.Response, cfg: ServiceConfig, rt: Runtime, context: dict[str, Any]
) -> IntegrationError | None:
    status = response.status_code
    if status < 400:
        return None
    request_id = _request_id(response, cfg)
    if status == 429:
        return RateLimitExceeded(status=status, request_id=request_id, **context)
    if status >= 500:
        return ServerError(status=status, request_id=request_id, **context)
    return ClientError(
        status=status, request_id=request_id, payload=_error_payload(response), **context
    )


def _error_payload(response: requests.Response) -> Any:
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    # In a response body "code" is an error code, not an OAuth authorization code.
    return redact_data(payload, keep=frozenset({"code"}))


def _log_attempt(
    service: str,
    method: str,
    url: str,
    response: requests.Response | None,
    error: IntegrationError | None,
    duration: float,
    attempt: int,
) -> None:
    status = response.status_code if response is not None else None
    request_id = error.request_id if error is not None else None
    if response is not None and request_id is None:
        request_id = response.headers.get("Request-Id") or response.headers.get("X-Request-Id")
        request_id = redact_text(request_id)[:200] if request_id else None
    path = redact_text(urlsplit(url).path) or "/"
    outcome = "ok" if error is None else type(error).__name__
    duration_ms = duration * 1000.0
    logger.log(
        logging.INFO if error is None else logging.WARNING,
        "integrations.outbound.http.attempt service=%s method=%s path=%s status=%s "
        "duration_ms=%.1f attempt=%d request_id=%s outcome=%s",
        service,
        method,
        path,
        status,
        duration_ms,
        attempt,
        request_id,
        outcome,
        extra={
            "event": "integrations.outbound.http.attempt",
            "service": service,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "attempt": attempt,
            "request_id": request_id,
            "outcome": outcome,
            "redacted": True,  # every value above is already redacted: the filter may skip it
        },
    )
