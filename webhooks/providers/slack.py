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
  (`app_mention`, `message`, …), occurred_at `event_time`.
- `url_verification`: type `url_verification`, id derived from the challenge; answered
  synchronously with `{"challenge": …}` by `immediate_response` (only after verification).
- `app_rate_limited`: type `app_rate_limited`, id `app_rate_limited:<team>:<minute>`.
- Interactivity (form body with a JSON `payload` field): type = the payload's `type`
  (`block_actions`, `view_submission`, `shortcut`, …), id = `trigger_id` (one per user
  interaction), else `action_ts`/`view.id` — `MalformedPayload` when none is present.
- Slash commands (form body with `command`): type `slash_command`, id = `trigger_id`.

Anything else is rejected with `MalformedPayload`.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar
from urllib.parse import parse_qs

from webhooks import signing
from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    ImmediateResponse,
    IncomingDelivery,
    ParsedEvent,
    SignedRequest,
    WebhookProvider,
    dump_json,
    epoch_or_none,
    json_object,
    json_payload,
    required_text,
)

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
VERSION = "v0"
DEFAULT_EVENT_TYPE = "app_mention"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class SlackWebhookProvider(WebhookProvider):
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

    def verify(self, delivery: IncomingDelivery, secrets: EndpointSecrets) -> None:
        keys = signing.require_secrets(secrets.secrets, provider=self.id)
        header = signing.required_header(delivery.headers, SIGNATURE_HEADER)
        raw_timestamp = signing.required_header(delivery.headers, TIMESTAMP_HEADER)
        timestamp = signing.parse_timestamp(raw_timestamp, header=TIMESTAMP_HEADER)
        provided = signing.hex_to_bytes(
            signing.strip_prefix(header, f"{VERSION}=", header=SIGNATURE_HEADER)
        )
        signing.verify_hmac(
            secrets=[key.encode("utf-8") for key in keys],
            message=_base_string(raw_timestamp, delivery.body),
            provided=[provided],
            header=SIGNATURE_HEADER,
        )
        signing.check_timestamp(
            timestamp, now=delivery.received_at, tolerance_seconds=secrets.tolerance_seconds
        )

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        content_type = delivery.content_type or delivery.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE:
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
        digest = signing.hmac_digest(key.encode("utf-8"), _base_string(str(timestamp), body))
        return SignedRequest(
            body=body,
            headers={
                SIGNATURE_HEADER: f"{VERSION}={signing.bytes_to_hex(digest)}",
                TIMESTAMP_HEADER: str(timestamp),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                "Content-Type": "application/json",
            },
            content_type="application/json",
        )

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or DEFAULT_EVENT_TYPE
        now = int(time.time())
        if event_type == "url_verification":
            return dump_json(
                {
                    "token": "sample-verification-token",  # nosec B105 - a sample payload's placeholder, not a secret
                    "challenge": f"challenge-{event_id}",
                    "type": "url_verification",
                }
            )
        event: dict[str, Any] = {
            "type": event_type,
            "user": "U0SAMPLE01",
            "text": "<@U0SAMPLEBOT> hello from Liaison",
            "ts": f"{now}.000200",
            "channel": "C0SAMPLE01",
            "event_ts": f"{now}.000200",
        }
        if event_type == "message":
            event["channel_type"] = "channel"
            event["text"] = "hello from Liaison"
        return dump_json(
            {
                "token": "sample-verification-token",  # nosec B105 - a sample payload's placeholder, not a secret
                "team_id": "T0SAMPLE01",
                "api_app_id": "A0SAMPLE01",
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": now,
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": "T0SAMPLE01",
                        "user_id": "U0SAMPLEBOT",
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-sample-{event_id}",
            }
        )


def _base_string(timestamp: str, body: bytes) -> bytes:
    return f"{VERSION}:{timestamp}:".encode("ascii") + body


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
            occurred_at=epoch_or_none(payload.get("event_time")),
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
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload("The form body is not valid.") from exc
    fields = {name: values[-1] for name, values in form.items()}
    if "payload" in fields:
        payload = json_payload(fields["payload"].encode("utf-8"))
        if not isinstance(payload, dict):
            raise MalformedPayload("The interactivity `payload` is not a JSON object.")
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
        )
    if "command" in fields:
        return ParsedEvent(
            event_id=required_text(fields, "trigger_id", what="trigger id (`trigger_id`)"),
            event_type="slash_command",
            body=body,
            payload=fields,
        )
    raise MalformedPayload("The form body is neither an interactivity payload nor a command.")
