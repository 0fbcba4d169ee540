"""Writes and side effects of the `webhooks` app (one module per concern).

- `endpoints`: endpoints, secrets and their rotation, cache invalidation, test deliveries;
- `ingest`: the hot path (verify, one insert, enqueue) and rejected-delivery accounting;
- `processing`: claim, handlers, retries, dead-lettering, replay, pruning.

Enqueueing and re-dispatch live in `webhooks.queue` (the one module that publishes); its
names are re-exported here for callers that import them from `webhooks.services`.
"""

from webhooks.queue import DispatchReport, webhook_events_dispatch_due, webhook_events_enqueue
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
    webhook_verification_failure_record,
)
from webhooks.services.processing import (
    ProcessOutcome,
    retry_delay_seconds,
    webhook_event_mark_ignored,
    webhook_event_process,
    webhook_event_replay,
    webhook_events_process,
    webhook_events_prune,
)
from webhooks.services.retention import PruneReport, webhook_events_prune_batched

__all__ = [
    "CreatedEndpoint",
    "DispatchReport",
    "EventStorageError",
    "IngestResult",
    "ProcessOutcome",
    "PruneReport",
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
    "webhook_events_process",
    "webhook_events_prune",
    "webhook_events_prune_batched",
    "webhook_secret_add",
    "webhook_verification_failure_record",
]
