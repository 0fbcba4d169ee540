"""Writes and side effects of the `webhooks` app (one module per concern).

- `endpoints`: endpoints, secrets and their rotation, cache invalidation, test deliveries;
- `ingest`: the hot path (verify, one insert, enqueue) and rejected-delivery accounting;
- `processing`: claim, handlers, retries, dead-lettering, re-dispatch, replay, pruning.
"""

from webhooks.services.endpoints import (
    CreatedEndpoint,
    RotatedSecret,
    TestDeliveryResult,
    webhook_endpoint_cache_invalidate,
    webhook_endpoint_create,
    webhook_endpoint_send_test,
    webhook_secret_add,
)
from webhooks.services.ingest import (
    EventStorageError,
    IngestResult,
    webhook_delivery_ingest,
    webhook_events_enqueue,
    webhook_verification_failure_record,
)
from webhooks.services.processing import (
    DispatchReport,
    ProcessOutcome,
    retry_delay_seconds,
    webhook_event_mark_ignored,
    webhook_event_process,
    webhook_event_replay,
    webhook_events_dispatch_due,
    webhook_events_prune,
)

__all__ = [
    "CreatedEndpoint",
    "DispatchReport",
    "EventStorageError",
    "IngestResult",
    "ProcessOutcome",
    "RotatedSecret",
    "TestDeliveryResult",
    "retry_delay_seconds",
    "webhook_delivery_ingest",
    "webhook_endpoint_cache_invalidate",
    "webhook_endpoint_create",
    "webhook_endpoint_send_test",
    "webhook_event_mark_ignored",
    "webhook_event_process",
    "webhook_event_replay",
    "webhook_events_dispatch_due",
    "webhook_events_enqueue",
    "webhook_events_prune",
    "webhook_secret_add",
    "webhook_verification_failure_record",
]
