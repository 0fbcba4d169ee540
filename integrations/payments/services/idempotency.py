"""Idempotency keys derived from business keys, so a retried call never acts twice."""

from __future__ import annotations

import hashlib


def idempotency_key(operation: str, *parts: object) -> str:
    """A stable key for `operation` on a business key (same inputs → same key); Stripe keeps
    keys for 24 hours."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"liaison-{operation}-{digest[:40]}"
