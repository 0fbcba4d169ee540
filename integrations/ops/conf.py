"""Settings read by `integrations.ops`, always at call time."""

from __future__ import annotations

from django.conf import settings


def _float(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    return default if value is None else float(value)


def _int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return default if value is None else int(value)


def alert_outbound_error_rate() -> float:
    """Error rate (errors / attempts over the metrics window) above which a service alerts."""
    return _float("ALERT_OUTBOUND_ERROR_RATE", 0.05)


def alert_outbound_min_attempts() -> int:
    """Fewer attempts than this in the window never raise the error-rate alert (noise)."""
    return _int("ALERT_OUTBOUND_MIN_ATTEMPTS", 20)


def alert_verification_failures_per_hour() -> int:
    """More rejected deliveries than this in one hour on one endpoint raise an alert."""
    return _int("ALERT_VERIFICATION_FAILURES_PER_HOUR", 10)


def alert_oauth_refresh_failures() -> int:
    """An active account whose refresh failed this many times in a row counts as failing."""
    return max(1, _int("ALERT_OAUTH_REFRESH_FAILURES", 1))


def alert_oauth_reconnect_window_hours() -> int:
    """Accounts that went to "needs reconnect" within this many hours keep the alert up."""
    return _int("ALERT_OAUTH_RECONNECT_WINDOW_HOURS", 24)


def alert_webhook_lag_seconds() -> int:
    """Oldest pending event older than this on an endpoint raises an alert."""
    return _int("ALERT_WEBHOOK_LAG_SECONDS", 300)


def alert_webhook_dead_events() -> int:
    """At least this many dead events on an endpoint raise an alert (0: never)."""
    return _int("ALERT_WEBHOOK_DEAD_EVENTS", 1)


def alert_email_admins() -> bool:
    """Whether the built-in receiver e-mails ADMINS on each alert state change."""
    return bool(getattr(settings, "ALERT_EMAIL_ADMINS", False))


def metrics_token() -> str:
    return getattr(settings, "METRICS_TOKEN", "") or ""


def metrics_allowed_ips() -> tuple[str, ...]:
    return tuple(getattr(settings, "METRICS_ALLOWED_IPS", ()) or ())
