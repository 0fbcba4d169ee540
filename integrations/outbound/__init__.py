"""The resilient outbound HTTP layer: timeouts, retries with capped backoff, a circuit breaker
and a rate limiter per service, their state shared by every process through Redis.

Depends only on `integrations.core`.
"""
