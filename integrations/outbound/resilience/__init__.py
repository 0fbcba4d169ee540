"""Public entry point kept for host projects: `guarded_call`, `use_runtime`, `get_guard`, ...

The outbound layer is one package, `integrations.outbound` (rules, state backends, guard,
client); this name is the one the README documents for SDK calls (`guarded_call`) and tests
(`use_runtime`, `resilience.testing`).
"""

from integrations.outbound import runtime, state
from integrations.outbound.config import ServiceConfig, known_services, service_config
from integrations.outbound.guard import default_is_failure, get_guard, guarded_call
from integrations.outbound.runtime import Runtime, use_runtime

__all__ = [
    "Runtime",
    "ServiceConfig",
    "default_is_failure",
    "get_guard",
    "guarded_call",
    "known_services",
    "runtime",
    "service_config",
    "state",
    "use_runtime",
]
