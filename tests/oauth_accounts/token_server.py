"""A local OpenID Provider token endpoint over real HTTP (127.0.0.1, ephemeral port) that counts
refresh grants: for tests about the wire and about concurrency, where a `responses` mock in the
calling thread cannot show what reaches a provider from many threads.

Serves discovery (`/.well-known/openid-configuration`) and `/token`. Every `refresh_token` grant
is counted; `delay` keeps each grant in flight; `hold` (an Event) makes the endpoint wait until
the test releases it, and `received` is set when a grant arrives.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class TokenServer:
    issuer: str = ""
    expires_in: int = 300
    delay: float = 0.0
    hold: threading.Event | None = None
    received: threading.Event = field(default_factory=threading.Event)
    grants: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def refresh_grants(self) -> int:
        with self.lock:
            return sum(1 for grant in self.grants if grant.get("grant_type") == "refresh_token")

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def token(self, form: dict[str, str], authorization: str) -> dict[str, Any]:
        with self.lock:
            self.grants.append({**form, "_authorization": authorization})
        self.received.set()
        if self.hold is not None:
            self.hold.wait(timeout=30)
        elif self.delay:
            threading.Event().wait(self.delay)
        return {
            "access_token": f"access-{secrets.token_hex(8)}",
            "refresh_token": f"refresh-{secrets.token_hex(8)}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def _handler(server_state: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                self._send(200, server_state.discovery())
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            text = self.rfile.read(length).decode()
            form = {key: values[0] for key, values in parse_qs(text).items()}
            if not self.path.endswith("/token"):
                self._send(404, {"error": "not_found"})
                return
            self._send(200, server_state.token(form, self.headers.get("Authorization", "")))

    return Handler


@contextmanager
def running_token_server(**options: Any) -> Iterator[TokenServer]:
    state = TokenServer(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-token-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        if state.hold is not None:
            state.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
