"""System checks of `integrations.outbox` (settings only; no database, no network).

- `liaison_outbox.E001` OUTBOX_LEASE_SECONDS, OUTBOX_RELAY_BATCH_SIZE (integers ≥ 1) or
  OUTBOX_RELAY_INTERVAL_SECONDS (a number ≥ 0.1) is not what it must be.
- `liaison_outbox.E002` OUTBOX_RETRY_SCHEDULE is not a list of integers ≥ 0.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from integrations.core.checks import number_setting_errors


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (
            ("OUTBOX_LEASE_SECONDS", int, 1),
            ("OUTBOX_RELAY_BATCH_SIZE", int, 1),
            ("OUTBOX_RELAY_INTERVAL_SECONDS", float, 0.1),
        ),
        check_id="liaison_outbox.E001",
    )


@register()
def check_retry_schedule(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "OUTBOX_RETRY_SCHEDULE", None)
    if value is None:
        return []
    valid = isinstance(value, list | tuple) and all(
        isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0
        for seconds in value
    )
    if valid and value:
        return []
    return [
        Error(
            "OUTBOX_RETRY_SCHEDULE must be a non-empty list of whole seconds ≥ 0.",
            hint="For example [5, 30, 120] (environment: OUTBOX_RETRY_SCHEDULE=5,30,120).",
            id="liaison_outbox.E002",
        )
    ]
