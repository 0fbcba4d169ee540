"""Settings the outbox reads, always at call time (so `override_settings` works).

Each default lives here and nowhere else; `config/settings.py` only sets a value the
environment provides (and imports `DEFAULT_RELAY_INTERVAL_SECONDS` for its beat schedule).
"""

from __future__ import annotations

from django.conf import settings

# Seconds before the 2nd, 3rd, … attempt: quick at first (a broker or database blip), then
# longer (a provider outage); ≈ 2 days in all. After the last attempt the row is dead.
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = (5, 30, 120, 600, 1800, 3600, 21600, 43200, 86400)
# A claim not settled after this long is taken over (the worker died or hung): short, since
# an action is one outbound call bounded by the resilient client's own timeouts.
DEFAULT_LEASE_SECONDS = 120
DEFAULT_RELAY_INTERVAL_SECONDS = 15
DEFAULT_RELAY_BATCH_SIZE = 200
DEFAULT_EAGER_RELAY = True
DEFAULT_LAST_ERROR_MAX_CHARS = 2000

DEFAULTS: dict[str, object] = {
    "OUTBOX_RETRY_SCHEDULE": DEFAULT_RETRY_SCHEDULE,
    "OUTBOX_LEASE_SECONDS": DEFAULT_LEASE_SECONDS,
    "OUTBOX_RELAY_INTERVAL_SECONDS": DEFAULT_RELAY_INTERVAL_SECONDS,
    "OUTBOX_RELAY_BATCH_SIZE": DEFAULT_RELAY_BATCH_SIZE,
    "OUTBOX_EAGER_RELAY": DEFAULT_EAGER_RELAY,
}


def retry_schedule() -> tuple[int, ...]:
    value = getattr(settings, "OUTBOX_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)
    return tuple(int(seconds) for seconds in value) or DEFAULT_RETRY_SCHEDULE


def max_attempts() -> int:
    """Attempts before a row is dead: one more than the delays between them."""
    return len(retry_schedule()) + 1


def lease_seconds() -> int:
    return int(getattr(settings, "OUTBOX_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def relay_interval_seconds() -> float:
    """How often beat (or the in-process runner) sweeps for due rows."""
    value = getattr(settings, "OUTBOX_RELAY_INTERVAL_SECONDS", DEFAULT_RELAY_INTERVAL_SECONDS)
    return float(value)


def relay_batch_size() -> int:
    return int(getattr(settings, "OUTBOX_RELAY_BATCH_SIZE", DEFAULT_RELAY_BATCH_SIZE))


def eager_relay_enabled() -> bool:
    """Without a broker: the in-process runner thread sweeps for due rows (`relay.py`)."""
    return bool(getattr(settings, "OUTBOX_EAGER_RELAY", DEFAULT_EAGER_RELAY))


def last_error_max_chars() -> int:
    return DEFAULT_LAST_ERROR_MAX_CHARS
