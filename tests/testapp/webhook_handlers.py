"""Handlers of the test app, found by `WebhooksConfig.ready()` like a host app's: nothing
imports this module explicitly (the extension-point tests check that)."""

from __future__ import annotations

from typing import Any

from webhooks.handlers import register

DISCOVERED_TYPE = "liaison.testapp.discovered"
seen: list[str] = []


@register("stripe", DISCOVERED_TYPE)
def record_discovered(event: Any) -> None:
    seen.append(event.event_id)
