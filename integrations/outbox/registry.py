"""The actions the relay can perform, by name (`outbox_action_register` from `ready()`).

An action is a callable taking the row (`OutboxItem`, claimed by the caller) and returning
`None` when done or an `ActionWait` when the outcome of an earlier attempt is not known yet
and the relay should look again later without spending an attempt. It raises to fail: see
`integrations.outbox.exceptions`. Actions must be idempotent for their purpose key: a row is
performed at least once (a worker may die after the effect and before `done` is recorded).

Registered today: `email.send` (`integrations.email`). Token revocation and the Stripe calls
handlers make register the same way from their app's `ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from integrations.outbox.exceptions import UnknownOutboxAction

if TYPE_CHECKING:
    from integrations.outbox.models import OutboxItem


@dataclass(frozen=True)
class ActionWait:
    """Not done, not failed: look again in `seconds` (the attempt is given back)."""

    seconds: float
    reason: str = ""


Action = Callable[["OutboxItem"], "ActionWait | None"]

_ACTIONS: dict[str, Action] = {}


def outbox_action_register(name: str, action: Action) -> None:
    """Register (or replace) the callable behind action `name`."""
    _ACTIONS[name] = action


def outbox_action_get(name: str) -> Action:
    try:
        return _ACTIONS[name]
    except KeyError:
        raise UnknownOutboxAction(
            f"No outbox action {name!r} is registered (is its app in INSTALLED_APPS?)."
        ) from None


def outbox_action_names() -> list[str]:
    return sorted(_ACTIONS)
