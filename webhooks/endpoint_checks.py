"""System check: stored webhook endpoints whose settings their provider cannot work with.

An endpoint saved before settings were validated (or edited in the database) answers every
delivery `503 endpoint_not_ready`, so the provider retries for days and nothing is stored.
This check runs `WebhookEndpoint.clean_settings()` — the provider's own `check_settings`, as
the admin form and `manage.py webhook_endpoint` do — on every stored endpoint and reports each
refusal as `liaison_webhooks.E010`, naming the endpoint and the field (never a value).

It reads the database, so it is tagged `database` (Django runs it for `migrate` and for
`check --database default`). A database that cannot be read (no table before `migrate`,
server down) is skipped with no error.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ValidationError
from django.db import DatabaseError


@register(Tags.database)
def webhook_endpoints_settings_check(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """One error per stored endpoint whose settings its provider refuses."""
    if not databases:
        return []
    from webhooks.models import WebhookEndpoint

    problems: list[CheckMessage] = []
    try:
        for endpoint in WebhookEndpoint.objects.order_by("slug").iterator():
            try:
                endpoint.clean_settings()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    problems.append(
                        Error(
                            f"Webhook endpoint {endpoint.slug!r} ({endpoint.provider}): "
                            f"{field}: {' '.join(messages)}",
                            hint=(
                                "Every delivery to it is answered 503 until this is fixed: "
                                "correct it in the admin."
                            ),
                            obj=f"webhook endpoint {endpoint.slug}",
                            id="liaison_webhooks.E010",
                        )
                    )
    except DatabaseError:
        return []
    return problems
