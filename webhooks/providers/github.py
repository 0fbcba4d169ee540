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
signature covers the form body, and handlers get the JSON object inside `payload` (from
`parse()` and `stored_payload()` alike), never the form. occurred_at = the head commit's
`timestamp` (push), else the event object's `updated_at`/`created_at` (see `_occurred_at`);
None for events whose payload names no time of the event (create, delete, …).
Samples: `webhooks/samples/github/` (ping, push, pull_request, issues).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    Headers,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    epoch_or_none,
    epoch_to_iso,
    form_fields,
    form_wrapped_json,
    is_form_content_type,
    iso_to_epoch,
    json_object,
    required_event_header,
)
from webhooks.providers.hmac_base import HmacSignedProvider, SampleDelivery
from webhooks.providers.samples import sample_event_types, sample_render

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
DELIVERY_HEADER = "X-GitHub-Delivery"
EVENT_HEADER = "X-GitHub-Event"
DEFAULT_EVENT_TYPE = "push"


class GitHubWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "github"
    name: ClassVar[str] = "GitHub"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-github-delivery",
        "x-github-event",
        "x-github-hook-id",
        "x-github-hook-installation-target-id",
        "x-github-hook-installation-target-type",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = SIGNATURE_HEADER
    signature_prefix: ClassVar[str] = SIGNATURE_PREFIX
    default_event_type: ClassVar[str] = DEFAULT_EVENT_TYPE
    test_headers: ClassVar[Mapping[str, str]] = {
        "X-GitHub-Hook-ID": "1",
        "User-Agent": "GitHub-Hookshot/liaison-test",
    }

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        event_id = required_event_header(delivery, DELIVERY_HEADER)
        event_type = required_event_header(delivery, EVENT_HEADER)
        payload = _payload(
            delivery.body, delivery.content_type or delivery.headers.get("content-type", "")
        )
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=_occurred_at(payload),
            )
        ]

    def event_subject(self, event: ParsedEvent) -> str:
        """`repository.full_name` (`owner/name`); "" for events about no repository."""
        payload = event.payload
        repository = payload.get("repository") if isinstance(payload, dict) else None
        name = repository.get("full_name") if isinstance(repository, dict) else None
        return name if isinstance(name, str) else ""

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        return {
            DELIVERY_HEADER: sample.event_id or str(uuid.uuid4()),
            EVENT_HEADER: sample.event_type or _infer_event_type(sample.body),
            **self.test_headers,
        }

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        if event_type not in sample_event_types(self.id):
            event_type = DEFAULT_EVENT_TYPE
        now = int(time.time())
        # A commit sha per delivery: two samples never share a body, as two real deliveries
        # never do (the endpoint's duplicate-body window would otherwise swallow the second).
        sha = signing.sha256_hex(event_id.encode("utf-8"))[:40]
        values = {"sha": sha, "number": int(sha[:8], 16), "now": now, "now_iso": epoch_to_iso(now)}
        return dump_json(sample_render(self.id, event_type, values))

    def stored_payload(self, body: bytes, headers: Mapping[str, str]) -> Any:
        return _payload(body, Headers(headers).get("content-type", ""))


def _payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON object of a delivery: the body, or the form's `payload` field (webhooks set to
    `application/x-www-form-urlencoded`), so handlers see the same object either way."""
    if not is_form_content_type(content_type):
        return json_object(body)
    payload = form_wrapped_json(form_fields(body))
    if payload is None:
        raise MalformedPayload("The form body has no `payload` field.")
    return payload


# Where a payload says when its event happened, in order: the pushed head commit, then the
# `updated_at` (else `created_at`) of the event's object. Events whose payload carries no time
# of the event (`create`, `delete`, `public`, `repository_dispatch`, `workflow_dispatch`, …)
# get None. `repository.pushed_at` is not used: it is the repository's, not the event's.
_OCCURRED_AT_OBJECTS = (
    "comment",
    "review",
    "pull_request",
    "issue",
    "release",
    "discussion",
    "workflow_run",
    "workflow_job",
    "check_run",
    "check_suite",
    "deployment_status",
    "deployment",
    "milestone",
    "label",
    "forkee",
    "hook",
)


def _occurred_at(payload: Mapping[str, Any]) -> float | None:
    head_commit = payload.get("head_commit")
    if isinstance(head_commit, dict):
        moment = iso_to_epoch(head_commit.get("timestamp"))
        if moment is not None:
            return moment
    moment = iso_to_epoch(payload.get("starred_at"))
    if moment is not None:
        return moment
    for key in _OCCURRED_AT_OBJECTS:
        obj = payload.get(key)
        if isinstance(obj, dict):
            for field in ("updated_at", "created_at"):
                value = obj.get(field)
                moment = iso_to_epoch(value) if isinstance(value, str) else epoch_or_none(value)
                if moment is not None:
                    return moment
    return None


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
