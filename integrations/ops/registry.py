"""What other Liaison apps contribute to operations: health sections, counts and staff API URLs.

`integrations.ops` must not import `webhooks` or `oauth_accounts` (dependencies point one way,
DESIGN.md), yet its dashboard, metrics and staff API show their state. Those apps register
their contributions here from their `AppConfig.ready()`; a section nobody registered is empty,
so ops works with any subset of apps installed.

Sections (each a callable; the name is the contract):

- `webhook_endpoints(now)` → list of per-endpoint rows for the dashboard (see `webhooks.health`)
- `webhook_series(hours)` → (deliveries per hour, verification failures per hour)
- `webhook_verification_failure_totals()` → iterable of (endpoint slug, reason, total)
- `webhook_event_counts()` → {endpoint slug: {status: count}}
- `oauth_accounts(now)` → the OAuth summary (see `oauth_accounts.health`)
- `connected_account_counts()` → {provider: {status: count}}
- `outbox(now)` → {pending, sending, dead, oldest_due_at, lag_seconds, by_action: {action:
  {pending, sending, dead}}} (see `integrations.outbox.health`)

Sections return plain mappings and iterables (a section's app cannot import ops' types at
import time, and a host may register its own callable); `integrations.ops.report` parses each
into its typed part of the `HealthReport`, by the keys named here.

Staff API URL modules are included under `<ops api prefix>/staff/<prefix>`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_SECTIONS: dict[str, Callable[..., Any]] = {}
_STAFF_URLS: dict[str, str] = {}


def health_section_register(name: str, func: Callable[..., Any]) -> None:
    """Register (or replace) the callable behind section `name`."""
    _SECTIONS[name] = func


def health_section(name: str) -> Callable[..., Any] | None:
    """The callable registered for `name`, or None when its app is not installed."""
    return _SECTIONS.get(name)


def staff_urls_register(prefix: str, module: str) -> None:
    """Include URL module `module` (dotted path) in the staff API under `staff/<prefix>`."""
    _STAFF_URLS[prefix] = module


def staff_urls() -> dict[str, str]:
    return dict(_STAFF_URLS)
