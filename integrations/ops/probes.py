"""Liveness probes of the backing services, for `/healthz`.

Each probe answers in bounded time and never raises: a failure is reported as a status with a
short reason (never a URL or credential).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection

from integrations.core import conf

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class ProbeResult:
    status: str  # "ok", "error", or "disabled"/"eager" for an optional service not configured
    detail: str = ""

    @property
    def healthy(self) -> bool:
        return self.status != "error"


def probe_database() -> ProbeResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("healthz_database_failed", extra={"error": type(exc).__name__})
        return ProbeResult("error", type(exc).__name__)
    return ProbeResult("ok", connection.vendor)


def probe_cache() -> ProbeResult:
    if not conf.redis_url():
        return ProbeResult("ok", "in-process (REDIS_URL not set)")
    try:
        import redis

        client = redis.Redis.from_url(
            conf.redis_url(),
            socket_timeout=PROBE_TIMEOUT_SECONDS,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
        finally:
            client.close()
        cache.get("healthz-probe")
    except Exception as exc:
        logger.warning("healthz_redis_failed", extra={"error": type(exc).__name__})
        return ProbeResult("error", type(exc).__name__)
    return ProbeResult("ok", "redis")


def probe_broker() -> ProbeResult:
    if conf.celery_always_eager() or not conf.celery_broker_url():
        return ProbeResult("eager", "tasks run in-process (CELERY_BROKER_URL not set)")
    from celery import current_app

    try:
        with current_app.connection_for_write(url=conf.celery_broker_url()) as conn:
            conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("healthz_broker_failed", extra={"error": type(exc).__name__})
        return ProbeResult("error", type(exc).__name__)
    return ProbeResult("ok", "broker reachable")


@dataclass(frozen=True)
class SystemHealth:
    """The probes behind `/healthz`, by backing service name."""

    checks: Mapping[str, ProbeResult]

    @property
    def healthy(self) -> bool:
        return all(result.healthy for result in self.checks.values())

    def as_dict(self, *, details: bool) -> dict[str, object]:
        """`{"status"}` for anyone; with `details`, also each check's status and detail."""
        body: dict[str, object] = {"status": "ok" if self.healthy else "error"}
        if details:
            body["checks"] = {
                name: {"status": result.status, "detail": result.detail}
                for name, result in self.checks.items()
            }
        return body


def system_health() -> SystemHealth:
    return SystemHealth(
        {
            "database": probe_database(),
            "cache": probe_cache(),
            "broker": probe_broker(),
        }
    )
