"""What AWS SNS confirmation messages do: confirm the subscription, unless staff do it.

A `SubscriptionConfirmation` is confirmed here, in processing (never on the receive path), by
`aws_sns_subscription_confirm` (a GET of its allow-listed `SubscribeURL`). When the endpoint's
`auto_confirm` option or `WEBHOOKS_SNS_AUTO_CONFIRM` is off, the event is left for the admin
action "Confirm SNS subscription" and nothing is called. A failed confirmation raises, so the
event is retried with backoff like any failed handler. `UnsubscribeConfirmation` and
`Notification` messages are only recorded (no handler: the event is `ignored` unless the host
registers one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webhooks.handlers import register
from webhooks.providers.sns_subscriptions import (
    aws_sns_auto_confirm_enabled,
    aws_sns_subscription_confirm,
)

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent


@register("aws_sns", "SubscriptionConfirmation")
def subscription_confirmation(event: WebhookEvent) -> None:
    if aws_sns_auto_confirm_enabled(options=event.endpoint.options):
        aws_sns_subscription_confirm(event=event)
