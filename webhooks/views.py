"""The receive view: `POST /webhooks/<slug>/` (see DESIGN.md's webhook contract).

Thin: size and method checks, then `webhook_delivery_ingest`. 2xx only after the delivery is
stored (a duplicate of a stored one too); 4xx for a rejected delivery (nothing stored); 5xx
only when it could not be stored (or the endpoint cannot verify anything yet), so the provider
retries.

Bodies: never more than the endpoint's limit + 1 bytes are read, whatever the sender declares.
A chunked body (`Transfer-Encoding: chunked`, no `Content-Length`) is read from the server's
terminated input stream (gunicorn sets `wsgi.input_terminated`; Django's own request stream
would read it as empty), or refused with 411 where the server cannot end it. A body shorter
than its `Content-Length` (the client stopped, or the server cut a slow one off) is refused as
incomplete, never verified. Every rejection is counted, with its declared size clamped to what
the failure log can store.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from csp.decorators import csp_exempt
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from webhooks import conf
from webhooks.exceptions import (
    DeliveryRejected,
    LengthRequired,
    MalformedPayload,
    PayloadTooLarge,
    WebhookConfigurationError,
)
from webhooks.providers import get_provider
from webhooks.providers.base import Headers, IncomingDelivery
from webhooks.selectors import EndpointConfig, webhook_endpoint_config_get
from webhooks.services import (
    EventStorageError,
    webhook_delivery_ingest,
    webhook_verification_failure_record,
)

logger = logging.getLogger(__name__)

_FORM = "application/x-www-form-urlencoded"
# Acknowledgements are never cached. Set here, `NoStoreMiddleware` leaves them as they are
# instead of patching Cache-Control on the hottest path of the project.
_NO_STORE = {"Cache-Control": "no-store"}
# The largest `body_size` the failure log stores (PositiveIntegerField on every database).
BODY_SIZE_MAX = 2**31 - 1


# CSRF: providers sign their deliveries instead. CSP: the answers are JSON for machines, never
# rendered, and building the policy was a measurable share of the hot path.
@csrf_exempt
@csp_exempt()  # type: ignore[arg-type]  # its stub types views without URL kwargs
def receive_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method != "POST":
        response = _answer({"error": "method_not_allowed"}, status=405)
        response["Allow"] = "POST"
        return response
    try:
        endpoint = webhook_endpoint_config_get(slug=slug)
    except DatabaseError as exc:
        # Cache cold and the database down: nothing can be stored, so the provider must retry.
        logger.error(
            "webhook_endpoint_lookup_failed", extra={"endpoint": slug, "error": type(exc).__name__}
        )
        return _answer({"error": "not_stored"}, status=503, retry_after=30)
    if endpoint is None or not endpoint.active:
        return _answer({"error": "not_found"}, status=404)
    try:
        delivery = _read_delivery(request, endpoint)
        result = webhook_delivery_ingest(endpoint=endpoint, delivery=delivery)
    except DeliveryRejected as exc:
        webhook_verification_failure_record(
            endpoint_id=endpoint.id,
            reason=exc.reason,
            detail=str(exc),
            remote_addr=request.META.get("REMOTE_ADDR"),
            body_size=_recorded_size(request),
        )
        logger.info("webhook_delivery_rejected", extra={"endpoint": slug, "reason": exc.reason})
        return _answer({"error": exc.reason, "detail": str(exc)}, status=exc.status_code)
    except EventStorageError:
        return _answer({"error": "not_stored"}, status=503, retry_after=30)
    except WebhookConfigurationError as exc:
        logger.error(
            "webhook_endpoint_misconfigured", extra={"endpoint": slug, "error": type(exc).__name__}
        )
        return _answer({"error": "endpoint_not_ready"}, status=503)
    if result.response is not None:
        return HttpResponse(
            result.response.body,
            status=result.response.status,
            content_type=result.response.content_type,
            headers=_NO_STORE,
        )
    return _answer({"received": result.events, "duplicates": result.duplicates})


def _answer(data: dict[str, object], *, status: int = 200, retry_after: int = 0) -> HttpResponse:
    """A JSON answer (plain values only: no `JsonResponse` encoder on the hot path)."""
    headers = {**_NO_STORE, "Retry-After": str(retry_after)} if retry_after else _NO_STORE
    return HttpResponse(
        json.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _declared_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _recorded_size(request: HttpRequest) -> int:
    """The declared size as the failure log can store it (an absurd one is clamped, issue 18)."""
    return min(max(_declared_length(request) or 0, 0), BODY_SIZE_MAX)


def _is_chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """At most `limit` bytes of body; PayloadTooLarge past it, never reading more than limit+1."""
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    environ = getattr(request, "environ", None)  # WSGI only; ASGI hands over the whole body
    if declared is None and _is_chunked(request) and environ is not None:
        if not environ.get("wsgi.input_terminated"):
            raise LengthRequired("Send a Content-Length: this server cannot end a chunked body.")
        body = environ["wsgi.input"].read(limit + 1)
    else:
        body = request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    if declared is not None and len(body) < declared:
        raise MalformedPayload(
            "The body ended before its Content-Length.", reason="body_incomplete"
        )
    return body


def _read_delivery(request: HttpRequest, endpoint: EndpointConfig) -> IncomingDelivery:
    """The raw delivery, refusing an oversized body before reading it whole."""
    body = _read_body(request, endpoint.max_body_bytes)
    content_type = request.content_type or ""
    form: dict[str, list[str]] = {}
    if content_type == _FORM:
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise MalformedPayload("The form body is not UTF-8.") from exc
    return IncomingDelivery(
        body=body,
        headers=Headers(list(request.headers.items())),
        url=_public_url(request) if get_provider(endpoint.provider).signs_url else "",
        content_type=content_type,
        form=form,
    )


def _public_url(request: HttpRequest) -> str:
    base = conf.public_base_url()
    if base:
        return f"{base}{request.get_full_path()}"
    return request.build_absolute_uri()
