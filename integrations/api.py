"""Staff API: what every staff endpoint shares, and the outbound services' health.

Every view under `/api/staff/` derives from `StaffAPIView` (or uses its `authentication_classes`
and `permission_classes`): Django session authentication (the admin's login; unsafe methods
need the CSRF token, as in the admin) and `is_staff` required. Anonymous requests get 403 and
non-staff users 403.

Why no API tokens: DRF's `rest_framework.authtoken` stores each key in plaintext and lists it
in the admin, which the design forbids for credentials ("never stored unencrypted, never shown
in the admin after saving").

`integrations` depends on no other app, so this module only knows the outbound services;
webhook and OAuth views live in their own apps and reuse the base class, and the combined
health snapshot is assembled in `config.staff_api`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView

from integrations import health


class StaffAccess:
    """Authentication and permission of every staff endpoint (mix into any DRF view)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAdminUser]


class StaffAPIView(StaffAccess, APIView):
    """A staff-only APIView."""


class StaffPagination(PageNumberPagination):
    """`?page=N&page_size=M` (50 by default, at most 500), with count/next/previous."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class OutboundServiceHealthSerializer(serializers.Serializer):
    """One outbound service in `integrations.health.snapshot()` (documentation of its shape)."""

    calls = serializers.IntegerField()
    attempts = serializers.IntegerField()
    successes = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.IntegerField())
    error_rate = serializers.FloatField()
    retries = serializers.IntegerField()
    latency_ms = serializers.DictField(child=serializers.FloatField(allow_null=True))
    breaker = serializers.DictField()
    rate_limit = serializers.DictField()
    window_seconds = serializers.IntegerField()
    backend = serializers.CharField()


def outbound_health() -> dict[str, dict[str, Any]]:
    """The outbound snapshot as the staff API serves it (every known service)."""
    return health.snapshot()
