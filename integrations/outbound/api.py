"""The outbound services' health as the staff API serves it (`integrations.ops.api`)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from integrations.outbound import health


class OutboundServiceHealthSerializer(serializers.Serializer):
    """One outbound service in `integrations.outbound.health.snapshot()` (documents its shape)."""

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
