"""Kept for importers of the old path (`webhooks.providers.sns_certificates`): the URL rules
live in `integrations.outbound.urls`."""

from integrations.outbound.urls import check_url, is_loopback_host, resolve_url

__all__ = ["check_url", "is_loopback_host", "resolve_url"]
