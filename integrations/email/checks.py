"""System checks of `integrations.email` (settings only; no database, no network).

- `liaison_email.E001` SENDGRID_PROCESSED_WAIT_SECONDS is not an integer >= 0.
- `liaison_email.E100` a Liaison app it needs is not installed (it sends through
  `integrations.outbound`, after a state change through `integrations.outbox`, and stores
  `integrations.core` encrypted fields).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

from integrations.core.checks import missing_app_errors, number_setting_errors

REQUIRES = ("integrations.core", "integrations.outbound", "integrations.outbox")


@register()
def check_dependencies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return missing_app_errors(
        app="integrations.email",
        requires=REQUIRES,
        check_id="liaison_email.E100",
    )


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (("SENDGRID_PROCESSED_WAIT_SECONDS", int, 0),), check_id="liaison_email.E001"
    )
