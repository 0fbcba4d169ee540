"""What each provider's events do: a small registry any installed app registers into.

A handler is `def handler(event: WebhookEvent) -> None`. It must be idempotent and tolerate
out-of-order delivery: the processor may run it again after a failure, and a provider may
send an older event after a newer one. Raising marks the event `failed` (retried with
backoff, `dead` past the last attempt). Events whose (provider, type) matches no handler —
exact or wildcard — are marked `ignored`.

Where handlers come from (imported by `WebhooksConfig.ready()`, so registration never depends
on import order elsewhere):

- the `webhook_handlers` module of every installed app, found with Django's
  `autodiscover_modules` (Liaison's own Stripe and SendGrid handlers are registered this way,
  from `webhooks/webhook_handlers.py`);
- each dotted module named in the `WEBHOOKS_HANDLER_MODULES` setting, for handlers that live
  somewhere else.

Event type patterns: an exact type (`"invoice.paid"`), a prefix ending in `.*` (`"invoice.*"`
matches `invoice.paid` and `invoice.payment.failed`), or `"*"` (every type of that provider).
`handlers_for` returns exact matches first, then prefixes from the most specific, then `"*"`,
each handler once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from webhooks import conf

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent

Handler = Callable[["WebhookEvent"], Any]

ANY_TYPE = "*"

# (provider, exact type or pattern) → handlers in registration order. A lookup costs one dict
# read per dot in the event type plus two, so no derived cache is needed (and tests may remove
# a handler from these lists directly).
_HANDLERS: defaultdict[tuple[str, str], list[Handler]] = defaultdict(list)


def _check_pattern(event_type: str) -> None:
    if not event_type:
        raise ValueError("an event type must not be empty")
    head = event_type[:-2] if event_type.endswith(".*") else event_type
    if event_type != ANY_TYPE and "*" in head:
        raise ValueError(
            f"unsupported event type pattern {event_type!r}: use an exact type, "
            "a prefix ending in '.*' (e.g. 'invoice.*'), or '*'"
        )


def register(provider: str, *event_types: str) -> Callable[[Handler], Handler]:
    """Decorator: run the function for these event types (or patterns) of this provider."""
    if not event_types:
        raise ValueError("register() needs at least one event type")
    for event_type in event_types:
        _check_pattern(event_type)

    def decorator(func: Handler) -> Handler:
        for event_type in event_types:
            if func not in _HANDLERS[(provider, event_type)]:
                _HANDLERS[(provider, event_type)].append(func)
        return func

    return decorator


def _patterns(event_type: str) -> list[str]:
    """The keys that match `event_type`, most specific first."""
    keys = [event_type]
    parts = event_type.split(".")
    keys.extend(".".join(parts[:end]) + ".*" for end in range(len(parts) - 1, 0, -1))
    keys.append(ANY_TYPE)
    return keys


def handlers_for(provider: str, event_type: str) -> list[Handler]:
    """The handlers for (provider, event type): exact, then prefix wildcards, then `"*"`."""
    found: list[Handler] = []
    for key in _patterns(event_type):
        for handler in _HANDLERS.get((provider, key), ()):
            if handler not in found:
                found.append(handler)
    return found


def handler_modules_load() -> None:
    """Import every installed app's `webhook_handlers` and each `WEBHOOKS_HANDLER_MODULES` entry.

    A module listed in the setting that cannot be imported is a configuration error naming the
    setting; an app's own `webhook_handlers` that fails to import raises its own error, as
    Django does for `admin` modules.
    """
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("webhook_handlers")
    for dotted in conf.handler_modules():
        try:
            import_module(dotted)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"WEBHOOKS_HANDLER_MODULES: cannot import {dotted!r}: {exc}"
            ) from exc
