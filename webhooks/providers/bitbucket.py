"""Bitbucket Cloud webhooks (REST API 2.0 event payloads).

Signing scheme: https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks
— with a secret set on the webhook, Bitbucket sends `X-Hub-Signature: sha256=<hex>`, the hex
HMAC-SHA256 of the raw body keyed with the secret (GitHub's format). **No timestamp is
signed**, and neither `X-Request-UUID` nor `X-Event-Key` is covered: new Bitbucket endpoints
get the 24-hour duplicate-body window, and handlers must stay idempotent.

Delivery and rate limits: https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/
and https://support.atlassian.com/bitbucket-cloud/docs/api-request-limits/ — Bitbucket expects
a response within 10 s and retries up to 2 more times on a 5xx or a timeout; API calls a handler
makes are limited to 1,000 per hour per user (repository data).

Event id = `X-Request-UUID` (the same on a retry). Event type = `X-Event-Key`
(`repo:push`, `pullrequest:created`, …). occurred_at = the pull request's `updated_on`, else
the first pushed change's commit `date`, else None. Samples: `webhooks/samples/bitbucket/`,
`<entity>/<action>.json` for `<entity>:<action>` (no colon in a file name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webhooks.providers.base import EndpointSecrets, IncomingDelivery, ParsedEvent
from webhooks.providers.hmac_base import HmacSignedProvider, field_at, moment_or_none
from webhooks.providers.samples import sample_default_body


class BitbucketWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "bitbucket"
    name: ClassVar[str] = "Bitbucket Cloud"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-request-uuid",
        "x-event-key",
        "x-hook-uuid",
        "x-attempt-number",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = "X-Hub-Signature"
    signature_prefix: ClassVar[str] = "sha256="
    event_id_header: ClassVar[str] = "X-Request-UUID"
    event_type_header: ClassVar[str] = "X-Event-Key"
    default_event_type: ClassVar[str] = "repo:push"
    test_headers: ClassVar[Mapping[str, str]] = {
        "X-Attempt-Number": "1",
        "User-Agent": "Bitbucket-Webhooks/2.0",
    }

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        [event] = super().parse(delivery, secrets)
        return [
            ParsedEvent(
                event_id=event.event_id,
                event_type=event.event_type,
                body=event.body,
                payload=event.payload,
                occurred_at=_occurred_at(event.payload),
            )
        ]

    def sample_body(self, event_type: str | None, *, event_id: str) -> bytes:
        event_type = event_type or self.default_event_type
        return sample_default_body(
            self.id, event_type, event_id=event_id, sample=event_type.replace(":", "/")
        )


def _occurred_at(payload: Mapping[str, Any]) -> float | None:
    moment = moment_or_none(field_at(payload, "pullrequest.updated_on"))
    if moment is not None:
        return moment
    changes = field_at(payload, "push.changes")
    if isinstance(changes, list) and changes:
        return moment_or_none(field_at(changes[0], "new.target.date"))
    return None
