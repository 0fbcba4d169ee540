"""The provider registry: one module per webhook sender, listed explicitly here.

A new provider is one module, one line in `PROVIDERS`, its tests. Registration never depends
on import order: the dict is built from the classes named below.
"""

from __future__ import annotations

from webhooks.exceptions import UnknownProvider
from webhooks.providers.base import WebhookProvider
from webhooks.providers.github import GitHubWebhookProvider
from webhooks.providers.hmac import HmacWebhookProvider
from webhooks.providers.sendgrid import SendGridWebhookProvider
from webhooks.providers.shopify import ShopifyWebhookProvider
from webhooks.providers.slack import SlackWebhookProvider
from webhooks.providers.standard import StandardWebhookProvider
from webhooks.providers.stripe import StripeWebhookProvider
from webhooks.providers.twilio import TwilioWebhookProvider

PROVIDERS: dict[str, type[WebhookProvider]] = {
    cls.id: cls
    for cls in (
        StripeWebhookProvider,
        GitHubWebhookProvider,
        SendGridWebhookProvider,
        TwilioWebhookProvider,
        SlackWebhookProvider,
        ShopifyWebhookProvider,
        StandardWebhookProvider,
        HmacWebhookProvider,
    )
}

# Providers are stateless, so one instance each serves every request.
_INSTANCES: dict[str, WebhookProvider] = {}


def get_provider(provider_id: str) -> WebhookProvider:
    """The provider for `provider_id`; `UnknownProvider` when it is not registered."""
    instance = _INSTANCES.get(provider_id)
    if instance is None:
        try:
            cls = PROVIDERS[provider_id]
        except KeyError:
            raise UnknownProvider(provider_id) from None
        instance = _INSTANCES.setdefault(provider_id, cls())
    return instance


def provider_choices() -> list[tuple[str, str]]:
    """(id, name) pairs for model and form choices, in registry order."""
    return [(cls.id, cls.name) for cls in PROVIDERS.values()]
