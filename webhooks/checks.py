"""System checks of `webhooks` (settings only; no database, no network).

- `liaison_webhooks.E001` WEBHOOKS_RETRY_SCHEDULE is not a list of positive integers.
- `liaison_webhooks.E002` a numeric WEBHOOKS_* setting is not a number in range.
- `liaison_webhooks.E003` WEBHOOKS_SNS_CERT_HOST_PATTERN is not a regular expression.
- `liaison_webhooks.E100` a Liaison app it needs is not installed: the built-in Stripe and
  SendGrid handlers apply events with `integrations.payments` / `integrations.email`, the
  health section registers with `integrations.ops`, secrets are `integrations.core` fields.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from integrations.core.checks import missing_app_errors, number_setting_errors

REQUIRES = (
    "integrations.core",
    "integrations.outbound",
    "integrations.ops",
    "integrations.payments",
    "integrations.email",
)


@register()
def check_dependencies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return missing_app_errors(app="webhooks", requires=REQUIRES, check_id="liaison_webhooks.E100")


@register()
def check_retry_schedule(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "WEBHOOKS_RETRY_SCHEDULE", None)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(delay, int) and not isinstance(delay, bool) and delay > 0 for delay in value
    ):
        return [
            Error(
                "WEBHOOKS_RETRY_SCHEDULE must be a list of positive integers (seconds to wait "
                f"after each failed attempt); it is {value!r}.",
                hint="For example WEBHOOKS_RETRY_SCHEDULE = [60, 300, 1800, 7200]; remove it "
                "to use the default (about 3 days in 8 retries).",
                id="liaison_webhooks.E001",
            )
        ]
    return []


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (
            ("WEBHOOKS_PROCESSING_LEASE_SECONDS", int, 1),
            ("WEBHOOKS_PENDING_GRACE_SECONDS", int, 0),
            ("WEBHOOKS_DISPATCH_INTERVAL_SECONDS", int, 1),
            ("WEBHOOKS_DISPATCH_BATCH_SIZE", int, 1),
            ("WEBHOOKS_ENDPOINT_CACHE_SECONDS", int, 0),
            ("WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS", float, 0),
            ("WEBHOOKS_VERIFICATION_FAILURES_KEPT", int, 0),
            ("WEBHOOKS_LAST_ERROR_MAX_CHARS", int, 1),
            ("WEBHOOKS_TEST_DELIVERY_TIMEOUT", float, 0.001),
            ("WEBHOOKS_EAGER_BATCH_LIMIT", int, 0),
            ("WEBHOOKS_EAGER_TIME_BUDGET_SECONDS", float, 0),
            ("WEBHOOKS_RETENTION_DAYS", int, 0),
            ("WEBHOOKS_RETENTION_BATCH_SECONDS", float, 0.001),
            ("WEBHOOKS_SNS_CERT_CACHE_SECONDS", int, 0),
        ),
        check_id="liaison_webhooks.E002",
    )


@register()
def check_sns_host_pattern(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "WEBHOOKS_SNS_CERT_HOST_PATTERN", None)
    if value is None:
        return []
    try:
        re.compile(value) if isinstance(value, str) else None
    except re.error as exc:
        problem = f"does not compile ({exc})"
    else:
        if isinstance(value, str) and value:
            return []
        problem = f"must be a non-empty string; it is {value!r}"
    return [
        Error(
            f"WEBHOOKS_SNS_CERT_HOST_PATTERN {problem}.",
            hint="It is matched in full against the lower-cased host of an SNS certificate "
            "or SubscribeURL; remove it to admit only sns.<region>.amazonaws.com[.cn].",
            id="liaison_webhooks.E003",
        )
    ]
