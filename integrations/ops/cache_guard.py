"""The observability pages must keep answering when the shared cache (Redis) is down.

History and alert state live in the Django cache; with Redis unreachable the dashboard,
`/metrics` and `integrations_health` still report what they can compute from the database and
the in-process fallback, without the 24 h history or alert change tracking, and say so in the
log once per process (not once per request).
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

_warned = False


def cache_unavailable(what: str, exc: BaseException) -> None:
    """Log (once per process) that `what` was skipped because the cache is unreachable."""
    global _warned
    if _warned:
        return
    _warned = True
    logger.warning(
        "integrations.ops.cache_unavailable what=%s error=%s",
        what,
        type(exc).__name__,
        extra={"event": "integrations.ops.cache_unavailable", "what": what},
    )
