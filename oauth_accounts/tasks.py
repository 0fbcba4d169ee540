"""Celery tasks: thin wrappers around services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from oauth_accounts import services


@shared_task(name="oauth_accounts.refresh_due_tokens", ignore_result=True)
def oauth_tokens_refresh_due_task(within_minutes: int | None = None) -> dict[str, int]:
    """Refresh tokens about to expire and idle refresh tokens (Celery beat runs this)."""
    within = timedelta(minutes=within_minutes) if within_minutes is not None else None
    report = services.oauth_tokens_refresh_due(within=within)
    return {
        "checked": report.checked,
        "refreshed": report.refreshed,
        "failed": report.failed,
        "needs_reconnect": report.needs_reconnect,
    }
