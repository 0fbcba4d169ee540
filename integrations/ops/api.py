"""The staff API's health snapshot: one read of every part.

The sections other apps compute reach this module through `integrations.ops.registry` (ops
imports neither `webhooks` nor `oauth_accounts`): the admin dashboard's report with its active
alerts (`integrations.ops.services.health_check`, a typed `HealthReport` written out by its
`as_dict()`, the same JSON as `manage.py integrations_health --json`), the raw outbound snapshot
(`integrations.outbound.health.snapshot()`), event counts per webhook endpoint and status, and
connected accounts per provider and status.

Reading the API never records alert state changes (`sync=False`): the dashboard, the command
and the periodic task do that, so polling the API cannot send or swallow an alert.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.core.api import StaffAPIView
from integrations.ops.registry import health_section
from integrations.ops.services import health_check
from integrations.outbound.api import OutboundServiceHealthSerializer, outbound_health


def _counts(section: str) -> dict[str, dict[str, int]]:
    func = health_section(section)
    return dict(func()) if func else {}


class HealthSnapshotView(StaffAPIView):
    """GET /api/staff/health/: dashboard report and alerts, outbound, webhook, account counts.

    Needs `liaison_ops.view_health`, as the admin's health dashboard does.
    """

    read_permissions = ("liaison_ops.view_health",)

    @extend_schema(
        operation_id="staff_health",
        responses={
            200: inline_serializer(
                "HealthSnapshot",
                {
                    "generated_at": serializers.DateTimeField(),
                    "healthy": serializers.BooleanField(help_text="No alert is active."),
                    "dashboard": serializers.DictField(
                        help_text=(
                            "The admin health dashboard's report: services, endpoints, oauth, "
                            "outbox (pending, sending, dead per action, lag; null when the "
                            "outbox is not installed), series (24 h), alerts, healthy (as "
                            "`manage.py integrations_health --json`)."
                        )
                    ),
                    "outbound": serializers.DictField(child=OutboundServiceHealthSerializer()),
                    "webhook_events": serializers.DictField(
                        child=serializers.DictField(child=serializers.IntegerField()),
                        help_text="{endpoint slug: {status: count}}",
                    ),
                    "connected_accounts": serializers.DictField(
                        child=serializers.DictField(child=serializers.IntegerField()),
                        help_text="{provider: {status: count}}",
                    ),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        report = health_check(sync=False)
        return Response(
            {
                "generated_at": timezone.now(),
                "healthy": report.healthy,
                "dashboard": report.as_dict(),
                "outbound": outbound_health(),
                "webhook_events": _counts("webhook_event_counts"),
                "connected_accounts": _counts("connected_account_counts"),
            }
        )
