"""GitHub webhooks (REST API version 2022-11-28 payloads).

Signing scheme: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
— `X-Hub-Signature-256: sha256=<hex>`, the hex HMAC-SHA256 of the raw body keyed with the
webhook secret (which we generate: `secret_kind = "shared_secret"`). The legacy SHA-1
`X-Hub-Signature` header is ignored. **The scheme has no timestamp**, and the signature covers
neither `X-GitHub-Delivery` nor `X-GitHub-Event`: anyone who captured one delivery (a logging
proxy, a leaked request dump) can post the same bytes again with a fresh delivery id and it
verifies. The event log's uniqueness on `X-GitHub-Delivery` only stops a replay that keeps the
id. New GitHub endpoints therefore get a 24-hour duplicate-body window
(`WebhookEndpoint.duplicate_body_window_hours`): a second delivery with byte-identical body
within the window is acknowledged and stored once. Genuine GitHub events practically never
repeat a body byte for byte (payloads carry the object's state and timestamps); a replay older
than the window is still accepted, so handlers must stay idempotent. `tolerance_seconds` does
not apply.

Rate limits and delivery: https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks
— GitHub expects a 2xx within 10 seconds and does not retry failed deliveries automatically
(they are redelivered by hand or through the REST API); REST API calls a handler might make are
limited to 5,000 requests per hour per installation/token
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).

Event id = `X-GitHub-Delivery` (a GUID, the same on a redelivery). Event type =
`X-GitHub-Event` exactly as sent (`push`, `pull_request`, …); the payload's `action`
(`opened`, `closed`, …) stays in the payload for handlers, so the type is stable for handler
registration. Bodies are JSON (`application/json` content type). Webhooks configured with the
`application/x-www-form-urlencoded` content type (`payload=<json>`) are accepted too: the
signature covers the form body, and the JSON inside `payload` is parsed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar
from urllib.parse import parse_qs

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    dump_json,
    epoch_to_iso,
    json_object,
    json_payload,
    required_event_header,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
DELIVERY_HEADER = "X-GitHub-Delivery"
EVENT_HEADER = "X-GitHub-Event"
DEFAULT_EVENT_TYPE = "push"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class GitHubWebhookProvider(WebhookProvider):
    id: ClassVar[str] = "github"
    name: ClassVar[str] = "GitHub"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    signs_timestamp_or_id: ClassVar[bool] = False
    default_duplicate_body_window_hours: ClassVar[int] = 24
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-github-delivery",
        "x-github-event",
        "x-github-hook-id",
        "x-github-hook-installation-target-id",
        "x-github-hook-installation-target-type",
        "user-agent",
        "content-type",
    )

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        keys = signing.require_secrets(secrets.secrets, provider=self.id)
        header = signing.required_header(delivery.headers, SIGNATURE_HEADER)
        provided = signing.hex_to_bytes(
            signing.strip_prefix(header, SIGNATURE_PREFIX, header=SIGNATURE_HEADER)
        )
        signing.verify_hmac(
            secrets=[key.encode("utf-8") for key in keys],
            message=delivery.body,
            provided=[provided],
            header=SIGNATURE_HEADER,
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        event_id = required_event_header(delivery, DELIVERY_HEADER)
        event_type = required_event_header(delivery, EVENT_HEADER)
        payload = _payload(delivery)
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=None,
            )
        ]

    def sign(
        self,
        body: bytes,
        secrets: EndpointSecrets,
        *,
        url: str,
        timestamp: int,
        event_type: str | None = None,
        event_id: str | None = None,
    ) -> SignedRequest:
        key = signing.require_secrets(secrets.secrets, provider=self.id)[0]
        digest = signing.hmac_digest(key.encode("utf-8"), body)
        return SignedRequest(
            body=body,
            headers={
                SIGNATURE_HEADER: SIGNATURE_PREFIX + signing.bytes_to_hex(digest),
                DELIVERY_HEADER: event_id or str(uuid.uuid4()),
                EVENT_HEADER: event_type or _infer_event_type(body),
                "X-GitHub-Hook-ID": "1",
                "User-Agent": "GitHub-Hookshot/liaison-test",
                "Content-Type": "application/json",
            },
            content_type="application/json",
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        now = int(time.time())
        # A commit sha per delivery: two samples never share a body, as two real deliveries
        # never do (the endpoint's duplicate-body window would otherwise swallow the second).
        sha = signing.sha256_hex(event_id.encode("utf-8"))[:40]
        repository = {
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": "hello-world",
            "full_name": "octo-org/hello-world",
            "private": False,
            "owner": {"login": "octo-org", "id": 9919, "type": "Organization"},
            "html_url": "https://github.com/octo-org/hello-world",
            "default_branch": "main",
        }
        sender = {"login": "octocat", "id": 583231, "type": "User"}
        payload: dict[str, Any]
        if event_type == "ping":
            payload = {
                "zen": "Keep it logically awesome.",
                "hook_id": int(sha[:8], 16),
                "hook": {"type": "Repository", "id": 1, "active": True, "events": ["*"]},
                "repository": repository,
                "sender": sender,
            }
        elif event_type == "pull_request":
            payload = {
                "action": "opened",
                "number": 42,
                "pull_request": {
                    "id": 1,
                    "number": 42,
                    "state": "open",
                    "title": "Add webhook ingestion",
                    "user": sender,
                    "head": {"ref": "feature", "sha": sha},
                    "base": {"ref": "main", "sha": "b" * 40},
                    "created_at": epoch_to_iso(now),
                },
                "repository": repository,
                "sender": sender,
            }
        elif event_type == "issues":
            payload = {
                "action": "opened",
                "issue": {
                    "id": int(sha[:8], 16),
                    "number": 7,
                    "state": "open",
                    "title": "Sample issue",
                    "user": sender,
                    "created_at": epoch_to_iso(now),
                },
                "repository": repository,
                "sender": sender,
            }
        else:
            payload = {
                "ref": "refs/heads/main",
                "before": "0" * 40,
                "after": sha,
                "created": False,
                "deleted": False,
                "forced": False,
                "commits": [
                    {
                        "id": sha,
                        "message": "Update README",
                        "timestamp": epoch_to_iso(now),
                        "author": {"name": "Octo Cat", "username": "octocat"},
                    }
                ],
                "head_commit": {"id": "c" * 40, "message": "Update README"},
                "pusher": {"name": "octocat"},
                "repository": repository,
                "sender": sender,
            }
        return dump_json(payload)


def _payload(delivery: IncomingDelivery) -> dict[str, Any]:
    content_type = delivery.content_type or delivery.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != FORM_CONTENT_TYPE:
        return json_object(delivery.body)
    try:
        form = parse_qs(delivery.body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload("The form body is not valid.") from exc
    values = form.get("payload", [])
    if len(values) != 1:
        raise MalformedPayload("The form body needs exactly one `payload` field.")
    payload = json_payload(values[0].encode("utf-8"))
    if not isinstance(payload, dict):
        raise MalformedPayload("The `payload` field is not a JSON object.")
    return payload


def _infer_event_type(body: bytes) -> str:
    """The event a GitHub-shaped body belongs to (GitHub names it only in a header)."""
    try:
        payload = json_object(body)
    except MalformedPayload:
        return DEFAULT_EVENT_TYPE
    for key, event_type in (
        ("zen", "ping"),
        ("pull_request", "pull_request"),
        ("issue", "issues"),
        ("commits", "push"),
    ):
        if key in payload:
            return event_type
    return DEFAULT_EVENT_TYPE
