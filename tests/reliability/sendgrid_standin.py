"""A SendGrid stand-in on loopback: the v3 Mail Send API, counting sends per message, and
SendGrid's Event Webhook posting signed `processed` events back, retried until acknowledged.

`POST /v3/mail/send` answers 202 with an `X-Message-Id` and counts the send under the
message's `liaison_message_id` custom argument (one Liaison row = one purpose key). Each
accepted send queues a `processed` event (shape: SendGrid's documented example, the fixture
under `tests/integrations/outbox/fixtures/sendgrid/`) that a poster thread delivers in
batches to Liaison's SendGrid endpoint, signed with the endpoint's key by the provider's own
`sign()`, and delivers again while the answer is not 2xx, as SendGrid does.

`hold_next()` makes the next send wait `hold_seconds` after it was accepted (counted) and
before the 202 is written, and sets `held`: the window in which a killed worker leaves a send
SendGrid accepted but Liaison never recorded.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets

FIXTURE = (
    Path(__file__).parents[1]
    / "integrations"
    / "outbox"
    / "fixtures"
    / "sendgrid"
    / "processed.json"
)


class SendGridStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.sends: Counter[str] = Counter()  # liaison_message_id -> accepted sends
        self.events: list[dict[str, Any]] = []  # processed events not yet acknowledged
        self.events_posted = 0
        self.event_posts_refused = 0
        self.hold_seconds = 2.0
        self._hold = threading.Event()
        self.held = threading.Event()
        self.webhook_url = ""
        self.secrets: EndpointSecrets | None = None
        self._stop = threading.Event()
        self._example = json.loads(FIXTURE.read_text())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hold_next(self) -> None:
        self.held.clear()
        self._hold.set()

    def accept(self, message_id: str) -> tuple[str, bool]:
        """Count a send; its X-Message-Id and whether to hold the reply."""
        x_message_id = uuid.uuid4().hex[:22]
        event = {
            **self._example,
            "timestamp": int(time.time()),
            "sg_event_id": uuid.uuid4().hex,
            "sg_message_id": f"{x_message_id}.filter0001.16648.5515E0B88.0",
            "liaison_message_id": message_id,
        }
        with self.lock:
            self.sends[message_id] += 1
            self.events.append(event)
            hold = self._hold.is_set()
            self._hold.clear()
        return x_message_id, hold

    def post_events_forever(self, *, interval: float = 0.5, batch: int = 300) -> None:
        provider = get_provider("sendgrid")
        session = requests.Session()
        while not self._stop.wait(interval):
            with self.lock:
                pending = self.events[:batch]
            if not pending or self.secrets is None:
                continue
            body = json.dumps(pending).encode()
            signed = provider.sign(body, self.secrets, url="", timestamp=int(time.time()))
            try:
                answer = session.post(
                    self.webhook_url, data=signed.body, headers=signed.headers, timeout=10
                )
                ok = 200 <= answer.status_code < 300
            except requests.RequestException:
                ok = False
            if not ok:
                self.event_posts_refused += 1
                continue  # SendGrid retries the same events later
            with self.lock:
                del self.events[: len(pending)]
                self.events_posted += len(pending)

    def pending_events(self) -> int:
        with self.lock:
            return len(self.events)

    def stop_posting(self) -> None:
        self._stop.set()


class _Handler(BaseHTTPRequestHandler):
    server: SendGridStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the counters are the record."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v3/mail/send":
            self._reply(404)
            return
        args = body.get("custom_args") or {}
        message_id = str(args.get("liaison_message_id") or "")
        x_message_id, hold = self.server.accept(message_id)
        if hold:
            self.server.held.set()
            time.sleep(self.server.hold_seconds)
        self._reply(202, {"X-Message-Id": x_message_id})

    def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            self.close_connection = True  # the worker died waiting: SendGrid has the message


@contextmanager
def sendgrid_standin() -> Iterator[SendGridStandIn]:
    server = SendGridStandIn()
    threads = [
        threading.Thread(target=server.serve_forever, name="sendgrid-standin", daemon=True),
        threading.Thread(target=server.post_events_forever, name="sendgrid-events", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield server
    finally:
        server.stop_posting()
        server.shutdown()
        server.server_close()
        for thread in threads:
            thread.join(timeout=10)
