"""Bodies on the wire, through the shipped gunicorn configuration (issue 18, items 6 and 8).

Django's test client never chunks and always sends a matching Content-Length, so these go
through a real server: a chunked signed delivery is stored (never verified as empty), a
chunked body past the limit is refused with 413 having read no more than the limit, a body
shorter than its Content-Length is refused as incomplete, and a rejection declaring an absurd
Content-Length is counted like any other (it used to be lost to a DataError on PostgreSQL).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from django.db import connection

from tests.reliability.deliveries import SigningEndpoint, make_signing_endpoint, sign_delivery
from tests.reliability.servers import WebServer, service_env, start_shipped_server
from webhooks.models import VerificationFailure, VerificationFailureCount, WebhookEvent
from webhooks.views import BODY_SIZE_MAX

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[WebServer]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
    log = tmp_path_factory.mktemp("chunked") / "server.log"
    web = start_shipped_server(
        service_env(database_name=name), log=log, WEB_CONCURRENCY="1", GUNICORN_THREADS="8"
    )
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture
def stripe() -> SigningEndpoint:
    return make_signing_endpoint("stripe")


def _chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _failures(endpoint: SigningEndpoint, reason: str) -> int:
    rows = VerificationFailureCount.objects.filter(endpoint_id=endpoint.endpoint_id, reason=reason)
    return sum(row.count for row in rows)


def _raw_request(server: WebServer, head: str, body: bytes, *, close_write: bool) -> bytes:
    """Send bytes as given (no client library fixing the framing); the server's answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and close_write is False:
                break
    return answer


def test_a_chunked_signed_delivery_is_read_and_stored(server, stripe):
    delivery = sign_delivery(stripe, server.base_url)
    headers = {k: v for k, v in delivery.headers.items() if k.lower() != "content-length"}

    response = requests.post(delivery.url, data=_chunks(delivery.body), headers=headers, timeout=10)

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 200, response.text
    ((endpoint_id, event_id),) = delivery.keys
    stored = WebhookEvent.objects.get(endpoint_id=endpoint_id, event_id=event_id)
    assert bytes(stored.body) == delivery.body  # every byte, as signed
    assert _failures(stripe, "signature_invalid") == 0


def test_a_chunked_body_past_the_limit_is_refused_with_413(server, stripe):
    limit = 1024 * 1024
    body = b"{" + b" " * (limit + 10_000) + b"}"

    response = requests.post(
        stripe.url(server.base_url),
        data=_chunks(body, 64 * 1024),
        headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"},
        timeout=20,
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert _failures(stripe, "payload_too_large") == 1


def test_an_absurd_content_length_is_counted_like_any_rejection(server, stripe):
    head = (
        f"POST /webhooks/{stripe.slug}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\n"
        f"Content-Length: {10**12}\r\nConnection: close\r\n\r\n"
    )

    answer = _raw_request(server, head, b"{}", close_write=False)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert _failures(stripe, "payload_too_large") == 1
    failure = VerificationFailure.objects.get(endpoint_id=stripe.endpoint_id)
    assert failure.body_size == BODY_SIZE_MAX  # clamped, recorded


def test_a_body_shorter_than_its_content_length_is_incomplete_not_forged(server, stripe):
    delivery = sign_delivery(stripe, server.base_url)
    head = (
        f"POST /webhooks/{stripe.slug}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in delivery.headers.items())
        + f"Content-Length: {len(delivery.body) + 50}\r\nConnection: close\r\n\r\n"
    )

    answer = _raw_request(server, head, delivery.body, close_write=True)

    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"body_incomplete" in answer
    assert _failures(stripe, "body_incomplete") == 1
    assert _failures(stripe, "signature_invalid") == 0
    assert not WebhookEvent.objects.filter(endpoint_id=stripe.endpoint_id).exists()


def test_server_log_has_no_tracebacks(server):
    text = server.log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
