"""Confirming AWS SNS subscriptions: the one outbound call an SNS endpoint makes on its own.

SNS sends nothing but a `SubscriptionConfirmation` until someone visits its `SubscribeURL`
(https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html). The message is
stored like every other event, never confirmed on the receive path; the built-in handler
(`webhooks.handlers.aws_sns`) calls `aws_sns_subscription_confirm` while processing it, unless
the endpoint's `auto_confirm` option (or `WEBHOOKS_SNS_AUTO_CONFIRM`) leaves it to staff, who
use the admin action, which calls the same service.

The `SubscribeURL` must pass the same allow-list as certificate URLs
(`sns_url_check`: `https://sns.<region>.amazonaws.com[.cn]/…`, no credentials, no port) and ask
for `Action=ConfirmSubscription`; it is fetched with a GET through the resilient outbound
client, without following redirects. The URL holds the subscription token: it is never logged.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from integrations.outbound.http import ServiceClient
from webhooks import conf
from webhooks.exceptions import SnsSubscriptionError, WebhookError
from webhooks.providers.sns_certificates import SERVICE, sns_url_check

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)

PROVIDER_ID = "aws_sns"
CONFIRMABLE_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
_ARN = re.compile(r"<SubscriptionArn>([^<]{1,1024})</SubscriptionArn>")


def aws_sns_auto_confirm_enabled(*, options: dict[str, Any] | None) -> bool:
    """Whether the built-in handler confirms: the endpoint's `auto_confirm` option, else
    `WEBHOOKS_SNS_AUTO_CONFIRM`."""
    value = (options or {}).get("auto_confirm")
    return value if isinstance(value, bool) else conf.sns_auto_confirm()


def aws_sns_subscription_confirm(*, event: WebhookEvent) -> str:
    """GET the `SubscribeURL` of a stored SNS confirmation message; the `SubscriptionArn` AWS
    answers with ("" when the answer names none).

    An `UnsubscribeConfirmation` carries a `SubscribeURL` too: confirming it re-subscribes
    (what AWS documents it for), which only a staff member should decide.

    Raises `SnsSubscriptionError` for an event that is not an SNS confirmation or whose URL is
    refused, and the outbound client's `IntegrationError`s when AWS cannot be reached or
    refuses (the processing path then retries the event with backoff).
    """
    if event.endpoint.provider != PROVIDER_ID or event.event_type not in CONFIRMABLE_TYPES:
        raise SnsSubscriptionError("Only an SNS confirmation message can be confirmed.")
    payload = event.payload
    url = payload.get("SubscribeURL") if isinstance(payload, dict) else None
    try:
        url = sns_url_check(url, what="SubscribeURL", require_pem=False)
    except WebhookError as exc:
        raise SnsSubscriptionError(str(exc)) from exc
    if parse_qs(urlsplit(url).query).get("Action") != ["ConfirmSubscription"]:
        raise SnsSubscriptionError("The SubscribeURL does not ask for ConfirmSubscription.")
    response = ServiceClient(SERVICE).get(url, allow_redirects=False)
    found = _ARN.search(response.text[:65536])
    arn = found.group(1).strip() if found else ""
    logger.info(
        "webhook_sns_subscription_confirmed",
        extra={
            "endpoint": event.endpoint.slug,
            "event": event.pk,
            "topic": str(payload.get("TopicArn", ""))[:256],
        },
    )
    return arn
