"""The provider registry: Liaison's providers listed explicitly, plus the host's own.

A built-in provider is one module, one line in `BUILTIN_PROVIDERS`, its tests. A host project
adds its own `WebhookProvider` subclass without editing Liaison: list its dotted path in the
`WEBHOOKS_PROVIDERS` setting (registered by `WebhooksConfig.ready()`), or call
`provider_register(cls)` from its own `AppConfig.ready()`. Registration never depends on import
order: the built-ins are in the dict from the start, the setting is read once at start-up.

`PROVIDERS` is the one registry every reader uses — `get_provider`, `provider_choices()` (the
endpoint model's choices are this callable, so a new provider needs no migration), the admin,
the API and `manage.py webhook_endpoint`.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from webhooks import conf
from webhooks.exceptions import (
    ProviderAlreadyRegistered,
    ProviderRegistrationError,
    UnknownProvider,
)
from webhooks.providers.aws_sns import AwsSnsWebhookProvider
from webhooks.providers.base import WebhookProvider
from webhooks.providers.bitbucket import BitbucketWebhookProvider
from webhooks.providers.calendly import CalendlyWebhookProvider
from webhooks.providers.discord import DiscordWebhookProvider
from webhooks.providers.ed25519 import Ed25519WebhookProvider
from webhooks.providers.github import GitHubWebhookProvider
from webhooks.providers.gitlab import GitLabWebhookProvider
from webhooks.providers.hmac import HmacWebhookProvider
from webhooks.providers.hubspot import HubSpotWebhookProvider
from webhooks.providers.intercom import IntercomWebhookProvider
from webhooks.providers.linear import LinearWebhookProvider
from webhooks.providers.mailgun import MailgunWebhookProvider
from webhooks.providers.paddle import PaddleWebhookProvider
from webhooks.providers.postmark import PostmarkWebhookProvider
from webhooks.providers.sendgrid import SendGridWebhookProvider
from webhooks.providers.shopify import ShopifyWebhookProvider
from webhooks.providers.slack import SlackWebhookProvider
from webhooks.providers.square import SquareWebhookProvider
from webhooks.providers.standard import StandardWebhookProvider
from webhooks.providers.stripe import StripeWebhookProvider
from webhooks.providers.twilio import TwilioWebhookProvider
from webhooks.providers.twitch import TwitchWebhookProvider
from webhooks.providers.typeform import TypeformWebhookProvider
from webhooks.providers.zoom import ZoomWebhookProvider

BUILTIN_PROVIDERS: tuple[type[WebhookProvider], ...] = (
    StripeWebhookProvider,
    GitHubWebhookProvider,
    SendGridWebhookProvider,
    TwilioWebhookProvider,
    SlackWebhookProvider,
    ShopifyWebhookProvider,
    StandardWebhookProvider,
    HmacWebhookProvider,
    GitLabWebhookProvider,
    BitbucketWebhookProvider,
    LinearWebhookProvider,
    PaddleWebhookProvider,
    SquareWebhookProvider,
    ZoomWebhookProvider,
    HubSpotWebhookProvider,
    IntercomWebhookProvider,
    TypeformWebhookProvider,
    CalendlyWebhookProvider,
    TwitchWebhookProvider,
    PostmarkWebhookProvider,
    AwsSnsWebhookProvider,
    Ed25519WebhookProvider,
    DiscordWebhookProvider,
    MailgunWebhookProvider,
)

PROVIDERS: dict[str, type[WebhookProvider]] = {cls.id: cls for cls in BUILTIN_PROVIDERS}

# `WebhookEndpoint.provider` is a CharField(max_length=32).
MAX_PROVIDER_ID_LENGTH = 32

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
    """(id, name) pairs for model and form choices: built-ins first, then registered ones."""
    return [(cls.id, cls.name) for cls in PROVIDERS.values()]


def provider_register(
    cls: type[WebhookProvider], *, replace: bool = False
) -> type[WebhookProvider]:
    """Add a provider class to the registry; returns it (usable as a class decorator).

    Registering the same class again is a no-op. Another class with the same id raises
    `ProviderAlreadyRegistered` unless `replace=True` (which also drops the cached instance).
    A class that is not a concrete `WebhookProvider` with a short `id` and a `name` raises
    `ProviderRegistrationError`. Both are `ImproperlyConfigured`: they stop start-up.
    """
    if not isinstance(cls, type) or not issubclass(cls, WebhookProvider):
        raise ProviderRegistrationError(
            f"{cls!r} is not a subclass of webhooks.providers.base.WebhookProvider"
        )
    provider_id = getattr(cls, "id", None)
    if not isinstance(provider_id, str) or not provider_id:
        raise ProviderRegistrationError(f"{cls.__qualname__} has no `id` (a non-empty str)")
    if len(provider_id) > MAX_PROVIDER_ID_LENGTH:
        raise ProviderRegistrationError(
            f"{cls.__qualname__}.id {provider_id!r} is longer than "
            f"{MAX_PROVIDER_ID_LENGTH} characters"
        )
    if not isinstance(getattr(cls, "name", None), str):
        raise ProviderRegistrationError(f"{cls.__qualname__} has no `name` (a str)")
    if getattr(cls, "__abstractmethods__", None):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ProviderRegistrationError(f"{cls.__qualname__} does not implement: {missing}")
    current = PROVIDERS.get(provider_id)
    if current is cls:
        return cls
    if current is not None and not replace:
        raise ProviderAlreadyRegistered(
            f"provider id {provider_id!r} is already registered by "
            f"{current.__module__}.{current.__qualname__}",
            provider_id=provider_id,
        )
    PROVIDERS[provider_id] = cls
    _INSTANCES.pop(provider_id, None)
    return cls


def providers_register_from_settings() -> list[type[WebhookProvider]]:
    """Register each class named in `WEBHOOKS_PROVIDERS` (called by `WebhooksConfig.ready()`).

    Errors name the setting and the path: an import that fails, an object that is not a
    `WebhookProvider` subclass, an id already taken by a built-in or another listed class.
    """
    builtin_ids = {cls.id for cls in BUILTIN_PROVIDERS}
    registered: list[type[WebhookProvider]] = []
    for path in conf.provider_paths():
        try:
            cls = import_string(path)
        except ImportError as exc:
            raise ProviderRegistrationError(
                f"WEBHOOKS_PROVIDERS: cannot import {path!r}: {exc}"
            ) from exc
        if getattr(cls, "id", None) in builtin_ids and cls is not PROVIDERS.get(cls.id):
            raise ProviderAlreadyRegistered(
                f"WEBHOOKS_PROVIDERS: {path!r} has id {cls.id!r}, which is a built-in "
                "provider's id; choose another id",
                provider_id=cls.id,
            )
        try:
            registered.append(provider_register(cls))
        except ProviderAlreadyRegistered as exc:
            raise ProviderAlreadyRegistered(
                f"WEBHOOKS_PROVIDERS: {path!r}: {exc}", provider_id=exc.provider_id
            ) from exc
        except ProviderRegistrationError as exc:
            raise ProviderRegistrationError(f"WEBHOOKS_PROVIDERS: {path!r}: {exc}") from exc
    return registered
