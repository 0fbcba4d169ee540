"""GitLab webhooks (GitLab 17.x / REST API v4 payloads).

Signing scheme: https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token
— GitLab does not sign the body: it sends the webhook's secret token verbatim in
`X-Gitlab-Token`. We compare it constant-time with every active secret (`digest = None`
on the declarative base). **Nothing is signed**: anyone who saw one delivery's headers can
post any body, so keep the token to HTTPS and rotate it if a request log leaks. New GitLab
endpoints get the 24-hour duplicate-body window (the token covers no timestamp or id).

Delivery and rate limits: https://docs.gitlab.com/user/project/integrations/webhook_events/ and
https://docs.gitlab.com/user/gitlab_com/#webhooks — GitLab expects a response within 10 s
(GitLab.com), auto-disables a webhook after repeated failures, and limits webhook calls per
top-level namespace per minute on GitLab.com (500 to 13,000 by plan).

Event id = `X-Gitlab-Event-UUID` (the same on a retry of the delivery). Event type = the
body's `object_kind` (`push`, `merge_request`, `issue`, `note`, `pipeline`, …; system hooks:
`event_name`), else the `X-Gitlab-Event` header (`Push Hook`). occurred_at = the object's
`updated_at`/`created_at` (`object_attributes`), else the last commit's `timestamp` (push);
GitLab writes both ISO 8601 and `2015-05-17 18:08:09 UTC`. Samples: `webhooks/samples/gitlab/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webhooks.exceptions import MalformedPayload
from webhooks.providers.base import (
    EndpointSecrets,
    IncomingDelivery,
    ParsedEvent,
    iso_to_epoch,
    json_object,
    required_event_header,
)
from webhooks.providers.hmac_base import HmacSignedProvider, SampleDelivery, field_at

TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 - a header name  # nosec B105
EVENT_UUID_HEADER = "X-Gitlab-Event-UUID"
EVENT_HEADER = "X-Gitlab-Event"
# `X-Gitlab-Event` of the sample types (test deliveries).
HOOK_NAMES = {"push": "Push Hook", "merge_request": "Merge Request Hook", "issue": "Issue Hook"}


class GitLabWebhookProvider(HmacSignedProvider):
    id: ClassVar[str] = "gitlab"
    name: ClassVar[str] = "GitLab"
    secret_kind: ClassVar[str] = "shared_secret"  # noqa: S105 - a kind, not a secret
    stored_headers: ClassVar[tuple[str, ...]] = (
        "x-gitlab-event",
        "x-gitlab-event-uuid",
        "x-gitlab-webhook-uuid",
        "x-gitlab-instance",
        "user-agent",
        "content-type",
    )

    signature_header: ClassVar[str] = TOKEN_HEADER
    signature_encoding: ClassVar[str] = "text"
    digest: ClassVar[str | None] = None
    event_id_header: ClassVar[str] = EVENT_UUID_HEADER
    default_event_type: ClassVar[str] = "push"
    test_headers: ClassVar[Mapping[str, str]] = {
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "User-Agent": "GitLab/17.0.0",
    }

    def parse(
        self, delivery: IncomingDelivery, secrets: EndpointSecrets | None = None
    ) -> list[ParsedEvent]:
        event_id = required_event_header(delivery, EVENT_UUID_HEADER)
        payload = json_object(delivery.body)
        event_type = payload.get("object_kind") or payload.get("event_name")
        if not isinstance(event_type, str) or not event_type:
            event_type = delivery.headers.get(EVENT_HEADER, "").strip()
        if not event_type:
            raise MalformedPayload("The payload has no `object_kind` and no X-Gitlab-Event.")
        return [
            ParsedEvent(
                event_id=event_id,
                event_type=event_type,
                body=delivery.body,
                payload=payload,
                occurred_at=_occurred_at(payload),
            )
        ]

    def delivery_headers(self, sample: SampleDelivery) -> dict[str, str]:
        headers = super().delivery_headers(sample)
        headers[EVENT_HEADER] = HOOK_NAMES.get(sample.event_type or "push", "Push Hook")
        return headers


def gitlab_time(value: Any) -> float | None:
    """Epoch seconds of GitLab's `2015-05-17 18:08:09 UTC` or an ISO 8601 time."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4].replace(" ", "T") + "+00:00"
    return iso_to_epoch(text)


def _occurred_at(payload: Mapping[str, Any]) -> float | None:
    for path in ("object_attributes.updated_at", "object_attributes.created_at"):
        moment = gitlab_time(field_at(payload, path))
        if moment is not None:
            return moment
    commits = payload.get("commits")
    if isinstance(commits, list) and commits and isinstance(commits[-1], dict):
        return gitlab_time(commits[-1].get("timestamp"))
    return None
