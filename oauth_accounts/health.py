"""The OAuth section of the operations health report (registered in `integrations.ops`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count

from integrations.core.redaction import redact_text
from integrations.ops import conf
from oauth_accounts.models import ConnectedAccount

RECONNECT_LIST_LIMIT = 50


def oauth_account_summary(now: datetime) -> dict[str, Any]:
    providers: dict[str, dict[str, Any]] = {}

    def provider(name: str) -> dict[str, Any]:
        return providers.setdefault(
            name,
            {
                "by_status": {},
                "refresh_failing": 0,
                "reconnect_recent": 0,
                "refreshed_last_hour": 0,
            },
        )

    for row in (
        ConnectedAccount.objects.order_by().values("provider", "status").annotate(n=Count("id"))
    ):
        provider(row["provider"])["by_status"][row["status"]] = row["n"]
    threshold = conf.alert_oauth_refresh_failures()
    window = now - timedelta(hours=conf.alert_oauth_reconnect_window_hours())
    for field, queryset in (
        (
            "refresh_failing",
            ConnectedAccount.objects.filter(status="active", failure_count__gte=threshold),
        ),
        (
            "reconnect_recent",
            ConnectedAccount.objects.filter(status="needs_reconnect", updated_at__gte=window),
        ),
        (
            "refreshed_last_hour",
            ConnectedAccount.objects.filter(last_refreshed_at__gte=now - timedelta(hours=1)),
        ),
    ):
        for counted in queryset.order_by().values("provider").annotate(n=Count("id")):
            provider(counted["provider"])[field] = counted["n"]
    reconnect = ConnectedAccount.objects.filter(status="needs_reconnect").order_by("-updated_at")
    listed = [
        {
            "id": row["id"],
            "provider": row["provider"],
            "display_name": row["display_name"],
            "user_id": row["user_id"],
            "failure_count": row["failure_count"],
            "last_error": redact_text(row["last_error"])[:200],
            "updated_at": row["updated_at"].isoformat(timespec="seconds"),
        }
        for row in reconnect.values(
            "id", "provider", "display_name", "user_id", "failure_count", "last_error", "updated_at"
        )[:RECONNECT_LIST_LIMIT]
    ]
    return {
        "needs_reconnect": listed,
        "needs_reconnect_total": reconnect.count(),
        "providers": providers,
    }


def register() -> None:
    from integrations.ops.registry import health_section_register, staff_urls_register
    from oauth_accounts.staff_api import connected_account_counts

    health_section_register("oauth_accounts", oauth_account_summary)
    health_section_register("connected_account_counts", connected_account_counts)
    staff_urls_register("accounts/", "oauth_accounts.api_urls")
