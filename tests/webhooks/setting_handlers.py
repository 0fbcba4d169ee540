"""Handlers imported only because a test lists this module in `WEBHOOKS_HANDLER_MODULES`."""

from __future__ import annotations

from typing import Any

from webhooks.handlers import register

SETTING_TYPE = "liaison.test.from_setting"


@register("stripe", SETTING_TYPE)
def from_setting(event: Any) -> None:
    return None
