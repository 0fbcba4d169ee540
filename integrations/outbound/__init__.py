"""The resilient outbound HTTP layer: timeouts, retries with capped backoff, a circuit breaker
and a rate limiter per service, their state shared by every process through Redis.

One package, imports pointing down only: `config`, `urls`, `runtime`, `metrics` →
`rules` (the one breaker and token-bucket specification) → `memory_state`, `redis_state` →
`state` (backend choice, Redis fallback) → `guard` (`guarded_call`) → `client`
(`ServiceClient`) → `health`. `http` and `resilience` are the documented public entry points.

Depends only on `integrations.core`.
"""
