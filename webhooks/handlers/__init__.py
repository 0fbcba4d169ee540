"""What each provider's events do: a small registry other modules register into.

A handler is `def handler(event: WebhookEvent) -> None`. It must be idempotent and tolerate
out-of-order delivery: the processor may run it again after a failure, and a provider may
send an older event after a newer one. Raising marks the event `failed` (retried with
backoff, `dead` past the last attempt). Events whose (provider, type) has no handler are
marked `ignored`.

Handler modules are listed in `HANDLER_MODULES` and imported by `WebhooksConfig.ready()`, so
registration never depends on import order elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webhooks.models import WebhookEvent

Handler = Callable[["WebhookEvent"], Any]

# Modules whose import registers handlers (kept explicit; see module docstring).
HANDLER_MODULES: tuple[str, ...] = ("webhooks.handlers.stripe", "webhooks.handlers.sendgrid")

_HANDLERS: defaultdict[tuple[str, str], list[Handler]] = defaultdict(list)


def register(provider: str, *event_types: str) -> Callable[[Handler], Handler]:
    """Decorator: run the function for these event types of this provider."""
    if not event_types:
        raise ValueError("register() needs at least one event type")

    def decorator(func: Handler) -> Handler:
        for event_type in event_types:
            if func not in _HANDLERS[(provider, event_type)]:
                _HANDLERS[(provider, event_type)].append(func)
        return func

    return decorator


def handlers_for(provider: str, event_type: str) -> list[Handler]:
    """The handlers registered for (provider, event type), in registration order."""
    return list(_HANDLERS.get((provider, event_type), ()))


def load_handler_modules() -> None:
    from importlib import import_module

    for module in HANDLER_MODULES:
        import_module(module)
