"""The typed health report: what the dashboard, the staff API, `manage.py integrations_health`
and the alert rules read.

`HealthReport` → its sections (outbound `services`, webhook `endpoints`, `oauth`, `outbox`, the
24 h `series`) → their rows, and the active `alerts`: frozen dataclasses, so a template, a rule
or the command reads a field by name and mypy sees a misspelt one.

Why the sections other apps register stay plain mappings in `integrations.ops.registry`:
ops must not import `webhooks`, `oauth_accounts` or `integrations.outbox` (DESIGN.md), and a
host may register its own callable for a section. The contract is the documented key set;
each section is parsed once here (`EndpointHealth.from_row`, `OAuthHealth.from_summary`,
`OutboxHealth.from_summary`), so a section that drifts from it fails in one place instead of
as a blank cell in a template. A key a section does not provide takes the field's default
(zero / None); keys ops does not know are ignored.

`as_dict()` is the one JSON shape, written out field by field: `manage.py integrations_health
--json` prints it and the staff API returns it as `dashboard` (the shape it had when the
report was a dict, plus `outbox`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from integrations.ops.alerts import Alert


def _known(cls: type, row: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `row` that are fields of dataclass `cls`."""
    return {f.name: row[f.name] for f in fields(cls) if f.name in row}


def _flat(obj: Any) -> dict[str, Any]:
    """A flat dataclass (scalars and dicts of scalars) as a dict of its fields."""
    return {
        f.name: dict(value) if isinstance(value := getattr(obj, f.name), Mapping) else value
        for f in fields(obj)
    }


@dataclass(frozen=True)
class ServiceHealth:
    """One outbound service over the metrics window (`integrations.outbound.health`)."""

    name: str
    calls: int = 0
    attempts: int = 0
    successes: int = 0
    errors_total: int = 0
    errors: Mapping[str, int] = field(default_factory=dict)
    error_rate: float = 0.0
    success_rate: float | None = None
    retries: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    breaker_state: str = "closed"
    breaker_retry_at: str | None = None
    breaker_trips: int = 0
    breaker_rejected: int = 0
    rate_limit_utilization: float = 0.0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    rate_limit_rejected: int = 0
    rate_limit_paused_until: str | None = None
    backend: str = ""

    @classmethod
    def from_snapshot(cls, name: str, data: Mapping[str, Any]) -> ServiceHealth:
        attempts = data["attempts"]
        breaker = data["breaker"]
        limiter = data["rate_limit"]
        return cls(
            name=name,
            calls=data["calls"],
            attempts=attempts,
            successes=data["successes"],
            errors_total=sum(data["errors"].values()),
            errors=dict(data["errors"]),
            error_rate=data["error_rate"],
            success_rate=round(data["successes"] / attempts, 4) if attempts else None,
            retries=data["retries"],
            latency_p50_ms=data["latency_ms"]["p50"],
            latency_p95_ms=data["latency_ms"]["p95"],
            breaker_state=breaker["state"],
            breaker_retry_at=breaker["retry_at"],
            breaker_trips=breaker["trips"],
            breaker_rejected=breaker["rejected"],
            rate_limit_utilization=limiter["utilization"],
            rate_limit_waits=limiter["waits"],
            rate_limit_wait_seconds=limiter["wait_seconds"],
            rate_limit_rejected=limiter["rejected"],
            rate_limit_paused_until=limiter["paused_until"],
            backend=data["backend"],
        )

    def as_dict(self) -> dict[str, Any]:
        return _flat(self)


@dataclass(frozen=True)
class EndpointHealth:
    """One webhook endpoint (section `webhook_endpoints`, see `webhooks.health`)."""

    slug: str
    provider: str = ""
    active: bool = True
    deliveries_24h: int = 0
    deliveries_total: int = 0
    # Events by status, from the counters.
    pending: int = 0
    processing: int = 0
    processed: int = 0
    ignored: int = 0
    failed: int = 0
    dead: int = 0
    oldest_pending_at: str | None = None
    lag_seconds: int = 0
    verification_failures_this_hour: int = 0
    verification_failures_last_hour: int = 0
    verification_failures_24h: int = 0
    processed_last_hour: int = 0
    processing_avg_seconds: float | None = None
    processing_max_seconds: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EndpointHealth:
        return cls(**_known(cls, row))

    def as_dict(self) -> dict[str, Any]:
        return _flat(self)


@dataclass(frozen=True)
class ReconnectAccount:
    """A connected account that needs its user to reconnect (its last error redacted)."""

    id: int
    provider: str
    display_name: str = ""
    user_id: int | None = None
    failure_count: int = 0
    last_error: str = ""
    updated_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return _flat(self)


@dataclass(frozen=True)
class OAuthProviderHealth:
    by_status: Mapping[str, int] = field(default_factory=dict)
    refresh_failing: int = 0
    reconnect_recent: int = 0
    refreshed_last_hour: int = 0

    def as_dict(self) -> dict[str, Any]:
        return _flat(self)


@dataclass(frozen=True)
class OAuthHealth:
    """Section `oauth_accounts` (see `oauth_accounts.health`); empty when not installed."""

    needs_reconnect: tuple[ReconnectAccount, ...] = ()
    needs_reconnect_total: int = 0
    providers: Mapping[str, OAuthProviderHealth] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> OAuthHealth:
        return cls(
            needs_reconnect=tuple(
                ReconnectAccount(**_known(ReconnectAccount, row))
                for row in summary.get("needs_reconnect", ())
            ),
            needs_reconnect_total=summary.get("needs_reconnect_total", 0),
            providers={
                name: OAuthProviderHealth(**_known(OAuthProviderHealth, row))
                for name, row in summary.get("providers", {}).items()
            },
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "needs_reconnect": [account.as_dict() for account in self.needs_reconnect],
            "needs_reconnect_total": self.needs_reconnect_total,
            "providers": {name: row.as_dict() for name, row in self.providers.items()},
        }


@dataclass(frozen=True)
class OutboxActionHealth:
    pending: int = 0
    sending: int = 0
    dead: int = 0

    def as_dict(self) -> dict[str, Any]:
        return _flat(self)


@dataclass(frozen=True)
class OutboxHealth:
    """Section `outbox` (see `integrations.outbox.health`): open rows in all and per action,
    and how late the oldest due row is. None in the report when the outbox is not installed."""

    pending: int = 0
    sending: int = 0
    dead: int = 0
    oldest_due_at: str | None = None
    lag_seconds: int = 0
    by_action: Mapping[str, OutboxActionHealth] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> OutboxHealth:
        known = _known(cls, summary)
        known["by_action"] = {
            action: OutboxActionHealth(**_known(OutboxActionHealth, counts))
            for action, counts in sorted(summary.get("by_action", {}).items())
        }
        return cls(**known)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in ("pending", "sending", "dead")},
            "oldest_due_at": self.oldest_due_at,
            "lag_seconds": self.lag_seconds,
            "by_action": {action: row.as_dict() for action, row in self.by_action.items()},
        }


@dataclass(frozen=True)
class HealthSeries:
    """24 hourly points, oldest first; `hours` are ISO hour starts."""

    hours: tuple[str, ...] = ()
    webhook_deliveries: tuple[int, ...] = ()
    verification_failures: tuple[int, ...] = ()
    outbound_errors: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class HealthAlert:
    """An active alert as the report shows it: the rule's `Alert` and when it was first
    recorded active (None until beat or the command synced it)."""

    alert: Alert
    since: str | None = None

    @property
    def code(self) -> str:
        return self.alert.code

    @property
    def subject(self) -> str:
        return self.alert.subject

    @property
    def message(self) -> str:
        return self.alert.message

    @property
    def severity(self) -> str:
        return self.alert.severity

    @property
    def value(self) -> float:
        return self.alert.value

    def as_dict(self) -> dict[str, Any]:
        return {**self.alert.as_dict(), "since": self.since}


@dataclass(frozen=True)
class HealthReport:
    """The whole report. `integrations.ops.selectors.health_report()` builds it without
    alerts; `integrations.ops.services.health_check()` returns it `with_alerts(...)`."""

    generated_at: str
    window_seconds: int
    services: tuple[ServiceHealth, ...] = ()
    endpoints: tuple[EndpointHealth, ...] = ()
    oauth: OAuthHealth = field(default_factory=OAuthHealth)
    outbox: OutboxHealth | None = None
    series: HealthSeries = field(default_factory=HealthSeries)
    alerts: tuple[HealthAlert, ...] = ()

    @property
    def healthy(self) -> bool:
        """No alert is active (meaningful once `health_check` evaluated the rules)."""
        return not self.alerts

    def with_alerts(self, alerts: tuple[HealthAlert, ...]) -> HealthReport:
        return replace(self, alerts=alerts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "window_seconds": self.window_seconds,
            "services": [row.as_dict() for row in self.services],
            "endpoints": [row.as_dict() for row in self.endpoints],
            "oauth": self.oauth.as_dict(),
            "outbox": self.outbox.as_dict() if self.outbox is not None else None,
            "series": self.series.as_dict(),
            "alerts": [alert.as_dict() for alert in self.alerts],
            "healthy": self.healthy,
        }
