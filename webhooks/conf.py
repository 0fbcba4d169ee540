"""Settings the `webhooks` app reads, always at call time (so `override_settings` works).

Every setting has a default here; `config/settings.py` maps them from the environment.
"""

from __future__ import annotations

from django.conf import settings

# Seconds to wait after the 1st, 2nd, … failed attempt: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h,
# 24 h, 24 h (≈ 3 days in all). After the last one the event is `dead`.
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = (60, 300, 1800, 7200, 21600, 43200, 86400, 86400)


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
    return int(getattr(settings, "WEBHOOKS_PROCESSING_LEASE_SECONDS", 900))


def pending_grace_seconds() -> int:
    """How long a `pending` event may wait before the dispatcher assumes its enqueue was lost."""
    return int(getattr(settings, "WEBHOOKS_PENDING_GRACE_SECONDS", 300))


def dispatch_batch_size() -> int:
    return int(getattr(settings, "WEBHOOKS_DISPATCH_BATCH_SIZE", 500))


def endpoint_cache_seconds() -> int:
    return int(getattr(settings, "WEBHOOKS_ENDPOINT_CACHE_SECONDS", 300))


def endpoint_local_cache_seconds() -> float:
    """Seconds a process keeps its own copy of an endpoint (0: always ask the shared cache)."""
    return float(getattr(settings, "WEBHOOKS_ENDPOINT_LOCAL_CACHE_SECONDS", 5))


def verification_failures_kept() -> int:
    """Recent verification failures kept per endpoint (older ones are trimmed on insert)."""
    return int(getattr(settings, "WEBHOOKS_VERIFICATION_FAILURES_KEPT", 50))


def last_error_max_chars() -> int:
    return int(getattr(settings, "WEBHOOKS_LAST_ERROR_MAX_CHARS", 2000))


def test_delivery_timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOKS_TEST_DELIVERY_TIMEOUT", 10.0))
