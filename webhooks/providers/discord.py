"""Discord interactions (slash commands, components, modals) at an Interactions Endpoint URL.

Signing scheme: https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
— Ed25519 over `X-Signature-Timestamp + raw body`, hex in `X-Signature-Ed25519`, verified with
the application's Public Key (Developer Portal → General Information; the endpoint's
`public_key`, hex). Built on `webhooks.providers.ed25519`: a bad or missing signature is a 401,
which Discord checks before it saves the URL; the timestamp is checked against the endpoint's
tolerance.

API version: Discord API v10 interaction objects
(https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object).
Discord waits 3 seconds for the answer and never retries an interaction; follow-ups go through
the interaction token (valid 15 minutes) under Discord's global limit of 50 requests per second
(https://discord.com/developers/docs/topics/rate-limits).

What is parsed: id = the interaction `id` (a snowflake, whose top bits give occurred_at);
type = the interaction type's name (`PING`, `APPLICATION_COMMAND`, `MESSAGE_COMPONENT`,
`APPLICATION_COMMAND_AUTOCOMPLETE`, `MODAL_SUBMIT`). Every interaction is stored first; the
synchronous answer (`immediate_response`, sent only once the event is stored) is:

- `PING` → `{"type": 1}` (PONG), as Discord requires to save the endpoint URL;
- `APPLICATION_COMMAND`, `MODAL_SUBMIT` → `{"type": 5}` (deferred channel message: handlers
  then edit the original response with the interaction token);
- `MESSAGE_COMPONENT` → `{"type": 6}` (deferred message update);
- `APPLICATION_COMMAND_AUTOCOMPLETE` → `{"type": 8, "data": {"choices": []}}` (autocomplete
  cannot be deferred).

Samples: `webhooks/samples/discord/`.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, ClassVar

from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    ImmediateResponse,
    IncomingDelivery,
    ParsedEvent,
    dump_json,
    json_object,
    required_text,
)
from webhooks.providers.ed25519 import TEST_SIGNER_OPTION, Ed25519WebhookProvider
from webhooks.providers.samples import sample_render

# https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type
INTERACTION_TYPES: dict[int, str] = {
    1: "PING",
    2: "APPLICATION_COMMAND",
    3: "MESSAGE_COMPONENT",
    4: "APPLICATION_COMMAND_AUTOCOMPLETE",
    5: "MODAL_SUBMIT",
}
# https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type
RESPONSES: dict[str, dict[str, Any]] = {
    "PING": {"type": 1},
    "APPLICATION_COMMAND": {"type": 5},
    "MODAL_SUBMIT": {"type": 5},
    "MESSAGE_COMPONENT": {"type": 6},
    "APPLICATION_COMMAND_AUTOCOMPLETE": {"type": 8, "data": {"choices": []}},
}
# Milliseconds from the Unix epoch to Discord's epoch (2015-01-01T00:00:00Z).
DISCORD_EPOCH_MS = 1_420_070_400_000
_SNOWFLAKE_MAX = 2**63 - 1


class DiscordWebhookProvider(Ed25519WebhookProvider):
    id: ClassVar[str] = "discord"
    name: ClassVar[str] = "Discord interactions"
    known_options: ClassVar[frozenset[str]] = frozenset({TEST_SIGNER_OPTION})
    configurable_headers: ClassVar[bool] = False
    default_event_type: ClassVar[str] = "APPLICATION_COMMAND"
    test_headers: ClassVar[dict[str, str]] = {
        "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)"
    }

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        payload = json_object(delivery.body)
        kind = payload.get("type")
        if isinstance(kind, bool) or kind not in INTERACTION_TYPES:
            raise MalformedPayload("The body is not a Discord interaction (unknown `type`).")
        interaction_id = required_text(payload, "id", what="interaction id (`id`)")
        return [
            ParsedEvent(
                event_id=interaction_id,
                event_type=INTERACTION_TYPES[kind],
                body=delivery.body,
                payload=payload,
                occurred_at=snowflake_time(interaction_id),
            )
        ]

    def immediate_response(
        self, delivery: IncomingDelivery, events: list[ParsedEvent]
    ) -> ImmediateResponse | None:
        if len(events) != 1 or events[0].event_type not in RESPONSES:
            return None
        answer = RESPONSES[events[0].event_type]
        return ImmediateResponse(status=200, body=json.dumps(answer).encode("ascii"))

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or self.default_event_type
        values = {
            "interaction_id": str(new_snowflake()),
            "token": f"aW50ZXJhY3Rpb246{event_id}",
        }
        return dump_json(sample_render(self.id, event_type, values))


def snowflake_time(value: str) -> float | None:
    """Epoch seconds a Discord snowflake was made at; None when it is not a snowflake."""
    if not value.isdigit() or len(value) > 20 or int(value) > _SNOWFLAKE_MAX:
        return None
    return ((int(value) >> 22) + DISCORD_EPOCH_MS) / 1000


def new_snowflake() -> int:
    """A snowflake for now (sample interactions: Discord mints the real ones)."""
    millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (millis << 22) | random.getrandbits(22)  # nosec B311 - not a secret
