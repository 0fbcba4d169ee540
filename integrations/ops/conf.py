"""Settings read by `integrations.ops`, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides (and imports `DEFAULT_ALERTS_CHECK_INTERVAL_SECONDS` for its beat
schedule).
"""

from __future__ import annotations

from django.conf import settings

# Alert thresholds (dashboard, admin index, `manage.py integrations_health`, /metrics).
DEFAULT_ALERT_OUTBOUND_ERROR_RATE = 0.05
DEFAULT_ALERT_OUTBOUND_MIN_ATTEMPTS = 20
DEFAULT_ALERT_VERIFICATION_FAILURES_PER_HOUR = 10
DEFAULT_ALERT_OAUTH_REFRESH_FAILURES = 1
DEFAULT_ALERT_OAUTH_RECONNECT_WINDOW_HOURS = 24
DEFAULT_ALERT_WEBHOOK_LAG_SECONDS = 300
DEFAULT_ALERT_WEBHOOK_DEAD_EVENTS = 1
DEFAULT_ALERT_WEBHOOK_FAILED_EVENTS = 10
# Dead outbox rows of one action allowed before `outbox_dead_items` alerts (0: any dead row).
DEFAULT_ALERT_OUTBOX_DEAD_ITEMS = 0
DEFAULT_ALERT_EMAIL_ADMINS = False
# How often Celery beat runs `integrations.ops.health_check` (the host's beat schedule).
DEFAULT_ALERTS_CHECK_INTERVAL_SECONDS = 60

# Every setting this app reads, with its default (the README's table is checked against it).
DEFAULTS: dict[str, object] = {
    "ALERT_OUTBOUND_ERROR_RATE": DEFAULT_ALERT_OUTBOUND_ERROR_RATE,
    "ALERT_OUTBOUND_MIN_ATTEMPTS": DEFAULT_ALERT_OUTBOUND_MIN_ATTEMPTS,
    "ALERT_VERIFICATION_FAILURES_PER_HOUR": DEFAULT_ALERT_VERIFICATION_FAILURES_PER_HOUR,
    "ALERT_OAUTH_REFRESH_FAILURES": DEFAULT_ALERT_OAUTH_REFRESH_FAILURES,
    "ALERT_OAUTH_RECONNECT_WINDOW_HOURS": DEFAULT_ALERT_OAUTH_RECONNECT_WINDOW_HOURS,
    "ALERT_WEBHOOK_LAG_SECONDS": DEFAULT_ALERT_WEBHOOK_LAG_SECONDS,
    "ALERT_WEBHOOK_DEAD_EVENTS": DEFAULT_ALERT_WEBHOOK_DEAD_EVENTS,
    "ALERT_WEBHOOK_FAILED_EVENTS": DEFAULT_ALERT_WEBHOOK_FAILED_EVENTS,
    "ALERT_OUTBOX_DEAD_ITEMS": DEFAULT_ALERT_OUTBOX_DEAD_ITEMS,
    "ALERT_EMAIL_ADMINS": DEFAULT_ALERT_EMAIL_ADMINS,
    "ALERTS_CHECK_INTERVAL_SECONDS": DEFAULT_ALERTS_CHECK_INTERVAL_SECONDS,
    # Neither a token nor addresses: /metrics answers loopback clients only.
    "METRICS_TOKEN": "",  # nosec B105 - unset by default, not a secret
    "METRICS_ALLOWED_IPS": (),
}


def _float(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    return default if value is None else float(value)


def _int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return default if value is None else int(value)


def alert_outbound_error_rate() -> float:
    """Error rate (errors / attempts over the metrics window) above which a service alerts."""
    return _float("ALERT_OUTBOUND_ERROR_RATE", DEFAULT_ALERT_OUTBOUND_ERROR_RATE)


def alert_outbound_min_attempts() -> int:
    """Fewer attempts than this in the window never raise the error-rate alert (noise)."""
    return _int("ALERT_OUTBOUND_MIN_ATTEMPTS", DEFAULT_ALERT_OUTBOUND_MIN_ATTEMPTS)


def alert_verification_failures_per_hour() -> int:
    """More rejected deliveries than this in one hour on one endpoint raise an alert."""
    return _int(
        "ALERT_VERIFICATION_FAILURES_PER_HOUR", DEFAULT_ALERT_VERIFICATION_FAILURES_PER_HOUR
    )


def alert_oauth_refresh_failures() -> int:
    """An active account whose refresh failed this many times in a row counts as failing."""
    return max(1, _int("ALERT_OAUTH_REFRESH_FAILURES", DEFAULT_ALERT_OAUTH_REFRESH_FAILURES))


def alert_oauth_reconnect_window_hours() -> int:
    """Accounts that went to "needs reconnect" within this many hours keep the alert up."""
    return _int("ALERT_OAUTH_RECONNECT_WINDOW_HOURS", DEFAULT_ALERT_OAUTH_RECONNECT_WINDOW_HOURS)


def alert_webhook_lag_seconds() -> int:
    """Oldest pending event older than this on an endpoint raises an alert."""
    return _int("ALERT_WEBHOOK_LAG_SECONDS", DEFAULT_ALERT_WEBHOOK_LAG_SECONDS)


def alert_webhook_dead_events() -> int:
    """At least this many dead events on an endpoint raise an alert (0: never)."""
    return _int("ALERT_WEBHOOK_DEAD_EVENTS", DEFAULT_ALERT_WEBHOOK_DEAD_EVENTS)


def alert_webhook_failed_events() -> int:
    """More events than this `failed` (waiting for a retry) on an endpoint raise an alert
    (0: never)."""
    return _int("ALERT_WEBHOOK_FAILED_EVENTS", DEFAULT_ALERT_WEBHOOK_FAILED_EVENTS)


def alert_outbox_dead_items() -> int:
    """More dead outbox rows of one action than this raise an alert (0: any dead row does)."""
    return _int("ALERT_OUTBOX_DEAD_ITEMS", DEFAULT_ALERT_OUTBOX_DEAD_ITEMS)


def alert_email_admins() -> bool:
    """Whether the built-in receiver e-mails ADMINS on each alert state change."""
    return bool(getattr(settings, "ALERT_EMAIL_ADMINS", DEFAULT_ALERT_EMAIL_ADMINS))


def alerts_check_interval_seconds() -> int:
    """Seconds between two runs of the periodic health check (for the beat schedule)."""
    return _int("ALERTS_CHECK_INTERVAL_SECONDS", DEFAULT_ALERTS_CHECK_INTERVAL_SECONDS)


def metrics_token() -> str:
    """Bearer token that opens /metrics ('' : no token accepted)."""
    return str(getattr(settings, "METRICS_TOKEN", "") or "")


def metrics_allowed_ips() -> tuple[str, ...]:
    """Addresses or CIDR networks allowed to read /metrics without the token."""
    return tuple(getattr(settings, "METRICS_ALLOWED_IPS", ()) or ())
