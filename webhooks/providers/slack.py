"""Slack: Events API, interactivity and slash commands (Slack Web API, signing version `v0`).

Signing scheme: https://api.slack.com/authentication/verifying-requests-from-slack — headers
`X-Slack-Request-Timestamp: <unix>` and `X-Slack-Signature: v0=<hex>`, the hex HMAC-SHA256 of
`"v0:<timestamp>:<raw body>"` keyed with the app's signing secret (used as-is). The timestamp
is checked against the endpoint's tolerance in both directions (Slack recommends 5 minutes).

Delivery and rate limits: https://api.slack.com/apis/events-api#responding and
https://api.slack.com/apis/rate-limits — Slack expects a 2xx within 3 seconds and retries a
failed event up to 3 times (`X-Slack-Retry-Num`); Events API deliveries are limited to 30,000
per workspace per app per hour, beyond which Slack sends `app_rate_limited`; Web API methods
have per-method tiers (Tier 1: 1+/min … Tier 4: 100+/min).

What is parsed (one event per delivery):

- Events API JSON (`type = event_callback`): id `event_id`, type `event.type`
  (`app_mention`, `message`, …), occurred_at `event_time` (seconds, or microseconds as in
  Slack's own examples), else `event.event_ts` (seconds with microseconds after the dot).
- `url_verification`: type `url_verification`, id derived from the challenge; answered
  synchronously with `{"challenge": …}` by `immediate_response` (only after verification).
- `app_rate_limited`: type `app_rate_limited`, id `app_rate_limited:<team>:<minute>`.
- Interactivity (form body with a JSON `payload` field): type = the payload's `type`
  (`block_actions`, `view_submission`, `shortcut`, …), id = `trigger_id` (one per user
  interaction), else `action_ts`/`view.id` — `MalformedPayload` when none is present;
  occurred_at `action_ts`. Handlers get the parsed JSON object of the `payload` field, from
  `parse()` and `stored_payload()` alike, never the form.
- Slash commands (form body with `command`): type `slash_command`, id = `trigger_id`.

Anything else is rejected with `MalformedPayload`. Samples: `webhooks/samples/slack/`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    Headers,
    ImmediateResponse,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    epoch_or_none,
    form_fields,
    form_wrapped_json,
    is_form_content_type,
    json_object,
    required_text,
    scaled_epoch_or_none,
)
from webhooks.providers.hmac_base import HmacSignedProvider
from webhooks.providers.samples import sample_event_types, sample_render

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
VERSION = "v0"
DEFAULT_EVENT_TYPE = "app_mention"


class SlackWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "slack"
    name: ClassVar[str] = "Slack"
    secret_kind: ClassVar[str] = "provider_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-slack-request-timestamp",
        "x-slack-retry-num",
        "x-slack-retry-reason",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = SIGNATURE_HEADER
    signature_prefix: ClassVar[str] = f"{VERSION}="
    timestamp_header: ClassVar[str] = TIMESTAMP_HEADER
    signed_content: ClassVar[str] = f"{VERSION}:{{timestamp}}:{{body}}"
    default_event_type: ClassVar[str] = DEFAULT_EVENT_TYPE
    test_headers: ClassVar[Mapping[str, str]] = {
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        content_type = delivery.content_type or delivery.headers.get("content-type", "")
        if is_form_content_type(content_type):
            return [_parse_form(delivery.body)]
        return [_parse_json(delivery.body)]

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        if len(events) == 1 and events[0].event_type == "url_verification":
            challenge = events[0].payload.get("challenge", "")
            return ImmediateResponse(
                status=200,
                body=json.dumps({"challenge": challenge}).encode("utf-8"),
                content_type="application/json",
            )
        return None

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        now = int(time.time())
        values = {
            "event_id": event_id,
            "event_type": event_type,
            "now": now,
            "now_ts": f"{now}.000200",
        }
        # Any other Events API type gets the app_mention envelope with its own `event.type`.
        sample = event_type if event_type in sample_event_types(self.id) else DEFAULT_EVENT_TYPE
        return dump_json(sample_render(self.id, sample, values))

    def stored_payload(self, body: bytes, headers: Mapping[str, str]) -> Any:
        content_type = Headers(headers).get("content-type", "")
        if is_form_content_type(content_type):
            fields = form_fields(body)
            wrapped = form_wrapped_json(fields)
            return fields if wrapped is None else wrapped
        return json_object(body)


def _parse_json(body: bytes) -> ParsedEvent:
    payload = json_object(body)
    kind = payload.get("type")
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict):
            raise MalformedPayload("The event_callback has no `event` object.")
        return ParsedEvent(
            event_id=required_text(payload, "event_id", what="event id (`event_id`)"),
            event_type=required_text(event, "type", what="event type (`event.type`)"),
            body=body,
            payload=payload,
            occurred_at=scaled_epoch_or_none(payload.get("event_time"))
            or scaled_epoch_or_none(event.get("event_ts")),
        )
    if kind == "url_verification":
        challenge = required_text(payload, "challenge", what="challenge")
        return ParsedEvent(
            event_id=f"url_verification:{signing.sha256_hex(challenge.encode('utf-8'))[:32]}",
            event_type="url_verification",
            body=body,
            payload=payload,
        )
    if kind == "app_rate_limited":
        team = required_text(payload, "team_id", what="team id (`team_id`)")
        minute = required_text(payload, "minute_rate_limited", what="`minute_rate_limited`")
        return ParsedEvent(
            event_id=f"app_rate_limited:{team}:{minute}",
            event_type="app_rate_limited",
            body=body,
            payload=payload,
            occurred_at=epoch_or_none(payload.get("minute_rate_limited")),
        )
    raise MalformedPayload("The body is not a Slack Events API payload this endpoint supports.")


def _parse_form(body: bytes) -> ParsedEvent:
    fields = form_fields(body)
    payload = form_wrapped_json(fields)
    if payload is not None:
        view = payload.get("view")
        event_id = (
            payload.get("trigger_id")
            or payload.get("action_ts")
            or (view.get("id") if isinstance(view, dict) else None)
        )
        if not isinstance(event_id, str) or not event_id:
            raise MalformedPayload("The interactivity payload has no trigger_id.")
        return ParsedEvent(
            event_id=event_id,
            event_type=required_text(payload, "type", what="interaction type (`type`)"),
            body=body,
            payload=payload,
            occurred_at=_interaction_time(payload),
        )
    if "command" in fields:
        return ParsedEvent(
            event_id=required_text(fields, "trigger_id", what="trigger id (`trigger_id`)"),
            event_type="slash_command",
            body=body,
            payload=fields,
        )
    raise MalformedPayload("The form body is neither an interactivity payload nor a command.")


def _interaction_time(payload: dict[str, Any]) -> float | None:
    """`action_ts` of the interaction (top level for shortcuts and message actions, on each
    action for block_actions); None when it names none (view submissions)."""
    moment = scaled_epoch_or_none(payload.get("action_ts"))
    actions = payload.get("actions")
    if moment is None and isinstance(actions, list) and actions and isinstance(actions[0], dict):
        moment = scaled_epoch_or_none(actions[0].get("action_ts"))
    return moment
