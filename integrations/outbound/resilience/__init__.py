"""Circuit breaker, rate limiter and metrics per outbound service, shared through Redis.

`guarded_call(service, fn, ...)` wraps an SDK call (Stripe) with them; `ServiceClient` uses
the same guard for every HTTP attempt. See `guard.py` and `state.py`.
"""

from integrations.outbound.resilience.config import ServiceConfig, known_services, service_config
from integrations.outbound.resilience.guard import default_is_failure, get_guard, guarded_call
from integrations.outbound.resilience.runtime import Runtime, use_runtime

__all__ = [
    "Runtime",
    "ServiceConfig",
    "default_is_failure",
    "get_guard",
    "guarded_call",
    "known_services",
    "service_config",
    "use_runtime",
]
