"""`ServiceClient`: every outbound HTTP call Liaison makes, one service at a time.

    client = ServiceClient("sendgrid")
    response = client.post("/v3/mail/send", json=message, idempotency_key=True)

Configuration is read from settings on every call (`integrations.outbound.config`). The shape
is stripe-python's `_http_client.py`: `request` is a short loop around one attempt
(`_attempt`), one decision whether to go again (`retry.should_retry`) and one wait
(`retry.sleep_time_seconds`: capped exponential backoff with full jitter, or the provider's
`Retry-After`, capped). Each attempt is admitted by the service's breaker and limiter (shared
through Redis when REDIS_URL is set), sent with a (connect, read) timeout, logged once and
counted. Failures become the typed errors of `integrations.core.exceptions`; a POST or PATCH is
retried only when it carries an idempotency key (the same key on every attempt).
"""

from __future__ import annotations

import http.cookiejar
import logging
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
from integrations.outbound import runtime as runtime_module
from integrations.outbound.config import ServiceConfig, service_config
from integrations.outbound.guard import ServiceGuard, get_guard
from integrations.outbound.retry import (
    IDEMPOTENT_METHODS,
    server_wait,
    should_retry,
    sleep_time_seconds,
)
from integrations.outbound.rules import Admission
from integrations.outbound.runtime import Runtime
from integrations.outbound.urls import resolve_url

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


@dataclass(frozen=True)
class _Call:
    """Everything the attempts of one `request` share."""

    cfg: ServiceConfig
    rt: Runtime
    guard: ServiceGuard
    session: requests.Session
    method: str
    url: str
    safe_url: str
    may_retry: bool
    send: dict[str, Any]  # the keyword arguments of `session.request`


@dataclass(frozen=True)
class _Attempt:
    """One attempt's result: a 2xx/3xx response, or the typed error (and the wait the
    provider asked for, from its response headers)."""

    response: requests.Response | None
    error: IntegrationError | None
    duration: float
    server_wait: float | None = None


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
        call = self._prepare(
            method,
            url,
            headers=headers,
            idempotency_key=idempotency_key,
            timeout=timeout,
            send={
                "params": params,
                "data": data,
                "json": json,
                "auth": auth,
                "allow_redirects": allow_redirects,
            },
        )
        attempt, last_error = 0, None
        while True:
            attempt += 1
            try:
                admission = call.guard.admit(
                    call.cfg, call.rt, method=call.method, url=call.safe_url
                )
            except IntegrationError as refused:
                if last_error is not None:  # the breaker opened (or budget ran out) mid-retries
                    refused.__cause__ = last_error
                raise
            result = self._attempt(call)
            retry = should_retry(
                result.error,
                cfg=call.cfg,
                attempt=attempt,
                may_retry=call.may_retry,
                server_wait=result.server_wait,
            )
            _record(call, admission, result, attempt=attempt, retrying=retry)
            if result.error is None and result.response is not None:
                return result.response
            if result.error is None or not retry:
                raise _final_error(call, result)
            last_error = result.error
            call.rt.sleep(
                sleep_time_seconds(
                    call.cfg,
                    attempt=attempt,
                    server_wait=result.server_wait,
                    uniform=call.rt.uniform,
                )
            )

    def _prepare(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        idempotency_key: str | bool | None,
        timeout: TimeoutArg,
        send: dict[str, Any],
    ) -> _Call:
        cfg = service_config(self.service)
        method = method.upper()
        full_url = resolve_url(cfg.base_url, url, service=self.service)
        send_headers = dict(headers or {})
        if idempotency_key is True:
            idempotency_key = uuid.uuid4().hex
        if idempotency_key:
            send_headers[cfg.idempotency_header] = str(idempotency_key)
        has_key = any(k.lower() == cfg.idempotency_header.lower() for k in send_headers)
        return _Call(
            cfg=cfg,
            rt=self._runtime or runtime_module.current(),
            guard=get_guard(self.service),
            session=self._session or _shared_session(),
            method=method,
            url=full_url,
            safe_url=redact_url(full_url),
            may_retry=method in IDEMPOTENT_METHODS or has_key,
            send={
                **send,
                "headers": send_headers,
                "timeout": cfg.timeout if timeout is None else timeout,
            },
        )

    def _attempt(self, call: _Call) -> _Attempt:
        """Send once; never raises for what the network or the provider did."""
        context: dict[str, Any] = {
            "service": self.service,
            "method": call.method,
            "url": call.safe_url,
        }
        started = call.rt.perf_counter()
        try:
            response = call.session.request(call.method, call.url, **call.send)
        except requests.Timeout as exc:
            return _Attempt(None, _chain(Timeout(**context), exc), call.rt.perf_counter() - started)
        except requests.RequestException as exc:
            failed = _chain(TransportError(**context), exc)
            return _Attempt(None, failed, call.rt.perf_counter() - started)
        duration = call.rt.perf_counter() - started
        error = _error_for(response, call.cfg, context)
        if error is None:
            return _Attempt(response, None, duration)
        return _Attempt(
            response, error, duration, server_wait(response.headers, now=call.rt.clock())
        )


def _record(
    call: _Call, admission: Admission, result: _Attempt, *, attempt: int, retrying: bool
) -> None:
    """Breaker, metrics, the 429 pause and the log line of one attempt."""
    error = result.error
    call.guard.record(
        call.cfg,
        call.rt,
        admission,
        duration=result.duration,
        attempt=attempt,
        error=error,
        failure=isinstance(error, ServerError | TransportError),
        retrying=retrying,
    )
    if isinstance(error, RateLimitExceeded):
        wait = result.server_wait if result.server_wait is not None else 1.0
        call.guard.pause(call.cfg, call.rt, min(wait, call.cfg.retry_after_max))
    _log_attempt(call, result, attempt)


def _final_error(call: _Call, result: _Attempt) -> IntegrationError:
    error = result.error
    if error is None:  # pragma: no cover - _attempt always sets one of them
        return IntegrationError("an attempt returned neither a response nor an error")
    if isinstance(error, RateLimitExceeded) and result.server_wait is not None:
        error.retry_at = datetime.fromtimestamp(call.rt.clock() + result.server_wait, UTC)
    return error


def _chain(error: IntegrationError, cause: BaseException) -> IntegrationError:
    """Attach the library exception as the cause, with credentials scrubbed from its text."""
    scrub_exception_chain(cause)
    error.__cause__ = cause
    return error


def _request_id(response: requests.Response, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = response.headers.get(name)
        if value:
            return redact_text(value)[:200]
    return None


def _error_for(
    response: requests.Response, cfg: ServiceConfig, context: dict[str, Any]
) -> IntegrationError | None:
    status = response.status_code
    if status < 400:
        return None
    request_id = _request_id(response, cfg.request_id_headers)
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


def _log_attempt(call: _Call, result: _Attempt, attempt: int) -> None:
    response, error = result.response, result.error
    status = response.status_code if response is not None else None
    request_id = error.request_id if error is not None else None
    if response is not None and request_id is None:
        request_id = _request_id(response, ("Request-Id", "X-Request-Id"))
    path = redact_text(urlsplit(call.url).path) or "/"
    outcome = "ok" if error is None else type(error).__name__
    duration_ms = result.duration * 1000.0
    logger.log(
        logging.INFO if error is None else logging.WARNING,
        "integrations.outbound.http.attempt service=%s method=%s path=%s status=%s "
        "duration_ms=%.1f attempt=%d request_id=%s outcome=%s",
        call.guard.service,
        call.method,
        path,
        status,
        duration_ms,
        attempt,
        request_id,
        outcome,
        extra={
            "event": "integrations.outbound.http.attempt",
            "service": call.guard.service,
            "method": call.method,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "attempt": attempt,
            "request_id": request_id,
            "outcome": outcome,
            "redacted": True,  # every value above is already redacted: the filter may skip it
        },
    )
