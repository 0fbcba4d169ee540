"""System checks of `integrations.ops` (settings only; no database, no network).

- `liaison_ops.E001` METRICS_ALLOWED_IPS is not a list of IP addresses / CIDR networks.
- `liaison_ops.E002` an ALERT_* threshold or ALERTS_CHECK_INTERVAL_SECONDS is not a number in
  range.
- `liaison_ops.E100` a Liaison app it needs is not installed (the health report reads
  `integrations.outbound`'s shared state).

LOG_FORMAT is not checked here: no Liaison app reads it (the reference project's settings
choose the formatter, and refuse a value other than json / plain themselves).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from integrations.core.checks import missing_app_errors, number_setting_errors

REQUIRES = ("integrations.core", "integrations.outbound")


@register()
def check_dependencies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return missing_app_errors(
        app="integrations.ops", requires=REQUIRES, check_id="liaison_ops.E100"
    )


@register()
def check_metrics_allowed_ips(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "METRICS_ALLOWED_IPS", None)
    if not value:
        return []
    hint = (
        'Set METRICS_ALLOWED_IPS to a list such as ["10.0.0.5", "192.168.0.0/24"] '
        "(from an environment variable, comma-separated)."
    )
    if isinstance(value, (str, bytes)):
        return [
            Error(
                "METRICS_ALLOWED_IPS must be a list of addresses or CIDR networks, not a string.",
                hint=hint,
                id="liaison_ops.E001",
            )
        ]
    errors: list[CheckMessage] = []
    for position, entry in enumerate(value, start=1):
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"METRICS_ALLOWED_IPS entry #{position} ({entry!r}) is not an IP address "
                    "or CIDR network.",
                    hint=hint,
                    id="liaison_ops.E001",
                )
            )
    return errors


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (
            ("ALERT_OUTBOUND_ERROR_RATE", float, 0),
            ("ALERT_OUTBOUND_MIN_ATTEMPTS", int, 0),
            ("ALERT_VERIFICATION_FAILURES_PER_HOUR", int, 0),
            ("ALERT_OAUTH_REFRESH_FAILURES", int, 0),
            ("ALERT_OAUTH_RECONNECT_WINDOW_HOURS", int, 0),
            ("ALERT_WEBHOOK_LAG_SECONDS", int, 0),
            ("ALERT_WEBHOOK_DEAD_EVENTS", int, 0),
            ("ALERT_WEBHOOK_FAILED_EVENTS", int, 0),
            ("ALERT_OUTBOX_DEAD_ITEMS", int, 0),
            ("ALERTS_CHECK_INTERVAL_SECONDS", int, 1),
        ),
        check_id="liaison_ops.E002",
    )
