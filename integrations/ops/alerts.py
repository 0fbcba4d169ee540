"""Alert rules over the health report, and their state changes.

Rules (thresholds are settings, see `conf.py`), each alert identified by `code` + `subject`:

- `outbound_error_rate` (service): error rate over the metrics window above
  ALERT_OUTBOUND_ERROR_RATE (5 %) once at least ALERT_OUTBOUND_MIN_ATTEMPTS attempts were made.
- `breaker_open` (service): the circuit breaker is open or half-open.
- `webhook_verification_failures` (endpoint): more than ALERT_VERIFICATION_FAILURES_PER_HOUR
  rejected deliveries in the current or the previous clock hour.
- `oauth_refresh_failures` (provider): active accounts whose refresh failed
  ALERT_OAUTH_REFRESH_FAILURES times in a row, or that went to "needs reconnect" in the last
  ALERT_OAUTH_RECONNECT_WINDOW_HOURS.
- `webhook_lag` (endpoint): the oldest pending event is older than ALERT_WEBHOOK_LAG_SECONDS.
- `webhook_dead_events` (endpoint): at least ALERT_WEBHOOK_DEAD_EVENTS dead events (replaying
  or deleting them clears it).
- `webhook_handler_failures` (endpoint): more than ALERT_WEBHOOK_FAILED_EVENTS events `failed`
  right now (a handler raised and the event waits for a retry). A broken handler otherwise
  stays silent until its events go dead, about three days later; the count falls back (and
  the alert clears) as soon as retries succeed, or the events are replayed or ignored.
- `outbox_dead_items` (outbox action): more than ALERT_OUTBOX_DEAD_ITEMS (0) outbox rows of
  that action are dead: a side effect (an email, a queued call) will not happen until staff
  fix the cause and retry them in the admin.

`alerts_sync()` compares the active alerts with the state kept in the Django cache (shared
through Redis when REDIS_URL is set) and, for each change, logs one line and sends
`alert_raised` / `alert_cleared` (sender: `Alert`, keyword `alert`). Raising takes the flag with
an atomic `cache.add` and clearing with `cache.delete`'s result, so when several processes
evaluate at once each change is still reported exactly once.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.dispatch import Signal
from django.utils import timezone

from integrations.ops import conf
from integrations.ops.cache_guard import CACHE_ERRORS, cache_unavailable

if TYPE_CHECKING:
    from integrations.ops.report import HealthReport

logger = logging.getLogger(__name__)

alert_raised = Signal()
alert_cleared = Signal()

_PREFIX = "integrations:observability:alert:v1:"
_INDEX_KEY = f"{_PREFIX}index"

CODES = (
    "outbound_error_rate",
    "breaker_open",
    "webhook_verification_failures",
    "oauth_refresh_failures",
    "webhook_lag",
    "webhook_dead_events",
    "webhook_handler_failures",
    "outbox_dead_items",
)


@dataclass(frozen=True)
class Alert:
    code: str
    subject: str
    message: str
    value: float
    threshold: float
    severity: str = "warning"

    @property
    def key(self) -> str:
        return f"{self.code}:{self.subject}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def alerts_evaluate(report: HealthReport) -> list[Alert]:
    """The alerts active in `report` (pure: no state is read or written)."""
    return [
        *_service_alerts(report),
        *_endpoint_alerts(report),
        *_oauth_alerts(report),
        *_outbox_alerts(report),
    ]


def _service_alerts(report: HealthReport) -> list[Alert]:
    alerts: list[Alert] = []
    rate_limit = conf.alert_outbound_error_rate()
    min_attempts = conf.alert_outbound_min_attempts()
    for row in report.services:
        name = row.name
        if row.breaker_state != "closed":
            retry = f", retries after {row.breaker_retry_at}" if row.breaker_retry_at else ""
            alerts.append(
                Alert(
                    "breaker_open",
                    name,
                    f"Circuit breaker of {name} is {row.breaker_state}{retry}",
                    1,
                    0,
                    "critical",
                )
            )
        if row.attempts >= min_attempts and row.error_rate > rate_limit:
            alerts.append(
                Alert(
                    "outbound_error_rate",
                    name,
                    f"{name}: {row.error_rate:.1%} of {row.attempts} attempts failed "
                    f"(threshold {rate_limit:.1%})",
                    row.error_rate,
                    rate_limit,
                )
            )
    return alerts


def _endpoint_alerts(report: HealthReport) -> list[Alert]:
    alerts: list[Alert] = []
    per_hour = conf.alert_verification_failures_per_hour()
    lag_bound = conf.alert_webhook_lag_seconds()
    dead_min = conf.alert_webhook_dead_events()
    failed_max = conf.alert_webhook_failed_events()
    for row in report.endpoints:
        slug = row.slug
        worst = max(row.verification_failures_this_hour, row.verification_failures_last_hour)
        if worst > per_hour:
            alerts.append(
                Alert(
                    "webhook_verification_failures",
                    slug,
                    f"{slug}: {worst} deliveries failed verification in an hour "
                    f"(threshold {per_hour})",
                    worst,
                    per_hour,
                )
            )
        if row.lag_seconds > lag_bound:
            alerts.append(
                Alert(
                    "webhook_lag",
                    slug,
                    f"{slug}: oldest pending event is {row.lag_seconds} s old "
                    f"(threshold {lag_bound} s)",
                    row.lag_seconds,
                    lag_bound,
                )
            )
        if dead_min and row.dead >= dead_min:
            alerts.append(
                Alert(
                    "webhook_dead_events",
                    slug,
                    f"{slug}: {row.dead} dead event(s) need a replay or a decision",
                    row.dead,
                    dead_min,
                )
            )
        failed = row.failed
        if failed_max and failed > failed_max:
            alerts.append(
                Alert(
                    "webhook_handler_failures",
                    slug,
                    f"{slug}: {failed} event(s) failed in a handler and wait for a retry "
                    f"(threshold {failed_max})",
                    failed,
                    failed_max,
                )
            )
    return alerts


def _oauth_alerts(report: HealthReport) -> list[Alert]:
    alerts: list[Alert] = []
    for provider, row in sorted(report.oauth.providers.items()):
        failing = row.refresh_failing + row.reconnect_recent
        if failing:
            alerts.append(
                Alert(
                    "oauth_refresh_failures",
                    provider,
                    f"{provider}: token refresh failing for {row.refresh_failing} account(s), "
                    f"{row.reconnect_recent} recently need a reconnect",
                    failing,
                    conf.alert_oauth_refresh_failures(),
                )
            )
    return alerts


def _outbox_alerts(report: HealthReport) -> list[Alert]:
    if report.outbox is None:
        return []
    allowed = conf.alert_outbox_dead_items()
    return [
        Alert(
            "outbox_dead_items",
            action,
            f"outbox {action}: {row.dead} dead row(s) will not be performed until retried "
            f"(threshold {allowed})",
            row.dead,
            allowed,
        )
        for action, row in sorted(report.outbox.by_action.items())
        if row.dead > allowed
    ]


def alerts_sync(alerts: list[Alert]) -> tuple[list[Alert], list[Alert]]:
    """Record the active alerts; log and signal each change once. Returns (raised, cleared).

    With the cache unreachable, changes cannot be told apart from repeats: nothing is logged
    or signalled until it returns (the alerts themselves are still reported by the caller).
    """
    try:
        raised, cleared = _alerts_record(alerts)
    except CACHE_ERRORS as exc:
        cache_unavailable("alert state", exc)
        return [], []
    _alerts_announce(raised, cleared)
    return raised, cleared


def _alerts_record(alerts: list[Alert]) -> tuple[list[Alert], list[Alert]]:
    now = timezone.now().isoformat(timespec="seconds")
    active = {alert.key: alert for alert in alerts}
    raised: list[Alert] = []
    for key, alert in active.items():
        if cache.add(f"{_PREFIX}{key}", {**alert.as_dict(), "since": now}, timeout=None):
            raised.append(alert)
    previous: list[str] = cache.get(_INDEX_KEY) or []
    cleared: list[Alert] = []
    for key in previous:
        if key in active:
            continue
        stored = cache.get(f"{_PREFIX}{key}")
        if cache.delete(f"{_PREFIX}{key}"):
            cleared.append(_alert_from(stored, key))
    cache.set(_INDEX_KEY, sorted(active), timeout=None)
    return raised, cleared


def _alerts_announce(raised: list[Alert], cleared: list[Alert]) -> None:
    for alert in raised:
        logger.log(
            logging.ERROR if alert.severity == "critical" else logging.WARNING,
            "integrations.alert.raised code=%s subject=%s",
            alert.code,
            alert.subject,
            extra={
                "event": "integrations.alert.raised",
                "code": alert.code,
                "subject": alert.subject,
                "value": alert.value,
                "threshold": alert.threshold,
                "severity": alert.severity,
            },
        )
        alert_raised.send(sender=Alert, alert=alert)
    for alert in cleared:
        logger.info(
            "integrations.alert.cleared code=%s subject=%s",
            alert.code,
            alert.subject,
            extra={
                "event": "integrations.alert.cleared",
                "code": alert.code,
                "subject": alert.subject,
            },
        )
        alert_cleared.send(sender=Alert, alert=alert)


def alert_since(alert: Alert) -> str | None:
    """When the alert was first seen active (ISO time), if it was synced."""
    try:
        stored = cache.get(f"{_PREFIX}{alert.key}")
    except CACHE_ERRORS as exc:
        cache_unavailable("alert state", exc)
        return None
    return stored.get("since") if isinstance(stored, dict) else None


def alerts_recorded() -> list[str]:
    """The codes of the alerts recorded active by the last `alerts_sync` (one per alert; a
    read of the shared cache, nothing evaluated). Empty when the cache is unreachable."""
    try:
        keys: list[str] = cache.get(_INDEX_KEY) or []
    except CACHE_ERRORS as exc:
        cache_unavailable("alert state", exc)
        return []
    return [key.partition(":")[0] for key in keys]


def alerts_state_clear() -> None:
    keys: list[str] = cache.get(_INDEX_KEY) or []
    cache.delete_many([f"{_PREFIX}{key}" for key in keys] + [_INDEX_KEY])


def _alert_from(stored: Any, key: str) -> Alert:
    if isinstance(stored, dict):
        fields = {name: stored[name] for name in Alert.__dataclass_fields__ if name in stored}
        with suppress(TypeError):  # a state written by another version: rebuild from the key
            return Alert(**fields)
    code, _, subject = key.partition(":")
    return Alert(code, subject, f"{code} on {subject}", 0, 0)
