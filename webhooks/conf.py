"""Settings the `webhooks` app reads, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides (and imports `DEFAULT_DISPATCH_INTERVAL_SECONDS` for its beat schedule).
"""

from __future__ import annotations

from django.conf import settings

# Seconds to wait after the 1st, 2nd, … failed attempt: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h,
# 24 h, 24 h (≈ 3 days in all). After the last one the event is `dead`.
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = (60, 300, 1800, 7200, 21600, 43200, 86400, 86400)
DEFAULT_PROCESSING_LEASE_SECONDS = 300
DEFAULT_PENDING_GRACE_SECONDS = 300
# How often Celery beat runs `webhook_events_dispatch_due_task` (the host's beat schedule).
DEFAULT_DISPATCH_INTERVAL_SECONDS = 60
DEFAULT_DISPATCH_BATCH_SIZE = 500
DEFAULT_ENDPOINT_CACHE_SECONDS = 300
DEFAULT_ENDPOINT_LOCAL_CACHE_SECONDS = 5.0
DEFAULT_VERIFICATION_FAILURES_KEPT = 50
DEFAULT_LAST_ERROR_MAX_CHARS = 2000
DEFAULT_TEST_DELIVERY_TIMEOUT = 10.0
# Eager mode (no broker): what one request may process itself before handing the rest of its
# events to the in-process dispatcher thread (`webhooks.publisher.EagerEventDispatcher`).
DEFAULT_EAGER_BATCH_LIMIT = 100
DEFAULT_EAGER_TIME_BUDGET_SECONDS = 5.0
DEFAULT_EAGER_DISPATCHER = True
# AWS SNS (webhooks/providers/aws_sns.py): the hosts a signing certificate or SubscribeURL may
# come from (a full match of the lower-cased host: `sns.<region>.amazonaws.com[.cn]`), how long
# a fetched certificate is kept, and whether a SubscriptionConfirmation is confirmed by itself.
DEFAULT_SNS_CERT_HOST_PATTERN = r"sns\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?"
DEFAULT_SNS_CERT_CACHE_SECONDS = 86400
DEFAULT_SNS_AUTO_CONFIRM = True
# Retention (`webhooks.services.retention`): days processed/ignored events are kept (0 =
# forever; per endpoint `retention_days`), whether failed/dead ones go too, and the time one
# delete batch aims for; beat runs it every RETENTION_INTERVAL seconds.
DEFAULT_RETENTION_DAYS = 30
DEFAULT_RETENTION_INCLUDE_FAILED = False
DEFAULT_RETENTION_BATCH_SECONDS = 0.25
DEFAULT_RETENTION_INTERVAL_SECONDS = 3600

# Every setting this app reads, with its default (the README's table is checked against it).
DEFAULTS: dict[str, object] = {
    "WEBHOOKS_PUBLIC_BASE_URL": "",
    "WEBHOOKS_RETRY_SCHEDULE": DEFAULT_RETRY_SCHEDULE,
    "WEBHOOKS_PROCESSING_LEASE_SECONDS": DEFAULT_PROCESSING_LEASE_SECONDS,
    "WEBHOOKS_PENDING_GRACE_SECONDS": DEFAULT_PENDING_GRACE_SECONDS,
    "WEBHOOKS_DISPATCH_INTERVAL_SECONDS": DEFAULT_DISPATCH_INTERVAL_SECONDS,
    "WEBHOOKS_DISPATCH_BATCH_SIZE": DEFAULT_DISPATCH_BATCH_SIZE,
    "WEBHOOKS_ENDPOINT_CACHE_SECONDS": DEFAULT_ENDPOINT_CACHE_SECONDS,
    "WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS": DEFAULT_ENDPOINT_LOCAL_CACHE_SECONDS,
    "WEBHOOKS_VERIFICATION_FAILURES_KEPT": DEFAULT_VERIFICATION_FAILURES_KEPT,
    "WEBHOOKS_LAST_ERROR_MAX_CHARS": DEFAULT_LAST_ERROR_MAX_CHARS,
    "WEBHOOKS_TEST_DELIVERY_TIMEOUT": DEFAULT_TEST_DELIVERY_TIMEOUT,
    "WEBHOOKS_EAGER_BATCH_LIMIT": DEFAULT_EAGER_BATCH_LIMIT,
    "WEBHOOKS_EAGER_TIME_BUDGET_SECONDS": DEFAULT_EAGER_TIME_BUDGET_SECONDS,
    "WEBHOOKS_EAGER_DISPATCHER": DEFAULT_EAGER_DISPATCHER,
    "WEBHOOKS_SNS_CERT_HOST_PATTERN": DEFAULT_SNS_CERT_HOST_PATTERN,
    "WEBHOOKS_SNS_CERT_CACHE_SECONDS": DEFAULT_SNS_CERT_CACHE_SECONDS,
    "WEBHOOKS_SNS_AUTO_CONFIRM": DEFAULT_SNS_AUTO_CONFIRM,
    "WEBHOOKS_RETENTION_DAYS": DEFAULT_RETENTION_DAYS,
    "WEBHOOKS_RETENTION_INCLUDE_FAILED": DEFAULT_RETENTION_INCLUDE_FAILED,
    "WEBHOOKS_RETENTION_BATCH_SECONDS": DEFAULT_RETENTION_BATCH_SECONDS,
    # Dotted paths: the host's own provider classes and extra handler modules.
    "WEBHOOKS_PROVIDERS": (),
    "WEBHOOKS_HANDLER_MODULES": (),
}


def public_base_url() -> str:
    """Scheme and host the providers post to (e.g. `https://hooks.example.com`), or ''.

    Set it behind a proxy: Twilio signs the full public URL, and the admin shows the URL to
    paste into the provider's dashboard. Unset: built from the request (honouring Django's
    proxy settings such as `USE_X_FORWARDED_HOST` / `SECURE_PROXY_SSL_HEADER`).
    """
    return str(getattr(settings, "WEBHOOKS_PUBLIC_BASE_URL", "") or "").rstrip("/")


def retry_schedule() -> tuple[int, ...]:
    value = getattr(settings, "WEBHOOKS_RETRY_SCHEDULE", None)
    return tuple(int(v) for v in value) if value else DEFAULT_RETRY_SCHEDULE


def max_attempts() -> int:
    """Attempts before an event is `dead`: the first one plus one per retry delay."""
    return len(retry_schedule()) + 1


def processing_lease_seconds() -> int:
    """How long a claimed event may stay `processing` before it counts as stuck."""
    return int(
        getattr(settings, "WEBHOOKS_PROCESSING_LEASE_SECONDS", DEFAULT_PROCESSING_LEASE_SECONDS)
    )


def pending_grace_seconds() -> int:
    """How long a `pending` event may wait before the dispatcher assumes its enqueue was lost."""
    return int(getattr(settings, "WEBHOOKS_PENDING_GRACE_SECONDS", DEFAULT_PENDING_GRACE_SECONDS))


def dispatch_interval_seconds() -> int:
    """Seconds between two runs of the re-dispatch of due events (for the beat schedule)."""
    return int(
        getattr(settings, "WEBHOOKS_DISPATCH_INTERVAL_SECONDS", DEFAULT_DISPATCH_INTERVAL_SECONDS)
    )


def dispatch_batch_size() -> int:
    return int(getattr(settings, "WEBHOOKS_DISPATCH_BATCH_SIZE", DEFAULT_DISPATCH_BATCH_SIZE))


def endpoint_cache_seconds() -> int:
    return int(getattr(settings, "WEBHOOKS_ENDPOINT_CACHE_SECONDS", DEFAULT_ENDPOINT_CACHE_SECONDS))


def endpoint_local_cache_seconds() -> float:
    """Seconds a process keeps its own copy of an endpoint (0: always ask the shared cache)."""
    return float(
        getattr(
            settings, "WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS", DEFAULT_ENDPOINT_LOCAL_CACHE_SECONDS
        )
    )


def verification_failures_kept() -> int:
    """Recent verification failures kept per endpoint (older ones are trimmed on insert)."""
    return int(
        getattr(settings, "WEBHOOKS_VERIFICATION_FAILURES_KEPT", DEFAULT_VERIFICATION_FAILURES_KEPT)
    )


def retention_days() -> int:
    """Days processed and ignored events are kept (0: forever); an endpoint may override."""
    value = int(getattr(settings, "WEBHOOKS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    if value < 0:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("WEBHOOKS_RETENTION_DAYS must be 0 (keep) or more days.")
    return value


def retention_include_failed() -> bool:
    """Whether retention also deletes failed and dead events (default: kept until handled)."""
    return bool(
        getattr(settings, "WEBHOOKS_RETENTION_INCLUDE_FAILED", DEFAULT_RETENTION_INCLUDE_FAILED)
    )


def retention_batch_seconds() -> float:
    """The time one retention delete batch aims for (its id range adapts to it)."""
    return max(
        0.01,
        float(
            getattr(settings, "WEBHOOKS_RETENTION_BATCH_SECONDS", DEFAULT_RETENTION_BATCH_SECONDS)
        ),
    )


def last_error_max_chars() -> int:
    return int(getattr(settings, "WEBHOOKS_LAST_ERROR_MAX_CHARS", DEFAULT_LAST_ERROR_MAX_CHARS))


def test_delivery_timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOKS_TEST_DELIVERY_TIMEOUT", DEFAULT_TEST_DELIVERY_TIMEOUT))


def eager_batch_limit() -> int:
    """Eager mode: events one request processes itself at most (the rest go to the thread)."""
    return max(0, int(getattr(settings, "WEBHOOKS_EAGER_BATCH_LIMIT", DEFAULT_EAGER_BATCH_LIMIT)))


def eager_time_budget_seconds() -> float:
    """Eager mode: seconds one request spends processing before handing the rest over."""
    return float(
        getattr(settings, "WEBHOOKS_EAGER_TIME_BUDGET_SECONDS", DEFAULT_EAGER_TIME_BUDGET_SECONDS)
    )


def eager_dispatcher_enabled() -> bool:
    """Eager mode: whether a web process runs the in-process dispatcher thread (False: events
    beyond the request's bound, failed retries and stale events wait for
    `manage.py webhook_dispatch_due`)."""
    return bool(getattr(settings, "WEBHOOKS_EAGER_DISPATCHER", DEFAULT_EAGER_DISPATCHER))


def sns_cert_host_pattern() -> str:
    """Regular expression a whole SNS certificate / SubscribeURL host must match (lower-cased).

    The default admits AWS's `sns.<region>.amazonaws.com` and `sns.<region>.amazonaws.com.cn`
    only; tests point it at a local server (`127\\.0\\.0\\.1`).
    """
    value = getattr(settings, "WEBHOOKS_SNS_CERT_HOST_PATTERN", DEFAULT_SNS_CERT_HOST_PATTERN)
    return str(value or DEFAULT_SNS_CERT_HOST_PATTERN)


def sns_cert_cache_seconds() -> int:
    """How long a fetched SNS signing certificate is kept (Django cache and in-process)."""
    return int(getattr(settings, "WEBHOOKS_SNS_CERT_CACHE_SECONDS", DEFAULT_SNS_CERT_CACHE_SECONDS))


def sns_auto_confirm() -> bool:
    """Whether an SNS SubscriptionConfirmation is confirmed by its built-in handler (False:
    a staff member confirms it; an endpoint's `auto_confirm` option wins over this)."""
    return bool(getattr(settings, "WEBHOOKS_SNS_AUTO_CONFIRM", DEFAULT_SNS_AUTO_CONFIRM))


def handler_modules() -> tuple[str, ...]:
    """Dotted modules imported at start-up for their `@register` handlers, besides every
    installed app's `webhook_handlers` module (found automatically)."""
    return _dotted_paths("WEBHOOKS_HANDLER_MODULES")


def provider_paths() -> tuple[str, ...]:
    """Dotted paths of the host's own `WebhookProvider` subclasses, registered at start-up."""
    return _dotted_paths("WEBHOOKS_PROVIDERS")


def _dotted_paths(name: str) -> tuple[str, ...]:
    value = getattr(settings, name, ()) or ()
    if isinstance(value, str):  # a single path given without the list around it
        value = (value,)
    return tuple(str(path) for path in value)
