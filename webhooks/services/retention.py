"""Retention: delete finished events past their endpoint's retention, in bounded batches.

`WEBHOOKS_RETENTION_DAYS` (0 = keep forever), overridden per endpoint by
`WebhookEndpoint.retention_days`. `processed` and `ignored` events past retention go;
`failed` and `dead` ones stay until handled (replayed, ignored) unless
`WEBHOOKS_RETENTION_INCLUDE_FAILED`. Pending and processing events never go.

Deletion walks the primary key in ranges: each batch is one short `DELETE … WHERE id >= lo AND
id < hi AND <endpoint's cutoff> AND <status>` in its own transaction, so no lock is held for
long and ingestion (which only inserts new, higher ids) is never blocked. The range width
adapts to keep each batch near `WEBHOOKS_RETENTION_BATCH_SECONDS`; a run stops after
`max_seconds` (beat runs it again). The status counters follow by trigger, in the same
statement as each delete. Hourly rollups and verification counters past the longest cutoff
(at least two days, for the 24 h dashboard) go too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from webhooks import conf
from webhooks.models import (
    VerificationFailureCount,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventHourly,
)

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status
Clock = Callable[[], datetime]
MIN_ROLLUP_DAYS = 2
SAMPLE_IDS = 5
MIN_RANGE, MAX_RANGE = 100, 50_000


@dataclass(frozen=True)
class PruneGroup:
    endpoint: str
    status: str
    count: int
    sample_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PruneReport:
    deleted: int = 0
    batches: int = 0
    complete: bool = True
    # --dry-run: what would go, per endpoint and status.
    groups: tuple[PruneGroup, ...] = field(default_factory=tuple)


def _statuses(include_failed: bool) -> list[str]:
    statuses = [Status.PROCESSED.value, Status.IGNORED.value]
    if include_failed:
        statuses += [Status.FAILED.value, Status.DEAD.value]
    return statuses


def webhook_retention_cutoffs(
    *, older_than: timedelta | None = None, now: datetime
) -> dict[int, datetime]:
    """{endpoint id: received-before cutoff} for endpoints whose events expire."""
    cutoffs: dict[int, datetime] = {}
    default = conf.retention_days()
    for pk, days in WebhookEndpoint.objects.values_list("pk", "retention_days"):
        if older_than is not None:
            cutoffs[pk] = now - older_than
            continue
        keep = default if days is None else days
        if keep > 0:
            cutoffs[pk] = now - timedelta(days=keep)
    return cutoffs


def _expired(cutoffs: dict[int, datetime], statuses: list[str]) -> Q:
    condition = Q(pk__in=[])
    for endpoint_id, cutoff in cutoffs.items():
        condition |= Q(endpoint_id=endpoint_id, received_at__lt=cutoff)
    return condition & Q(status__in=statuses)


def webhook_events_prune_batched(
    *,
    older_than: timedelta | None = None,
    include_failed: bool | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    batch_seconds: float | None = None,
    clock: Clock = timezone.now,
) -> PruneReport:
    """Apply retention (see the module). `older_than` replaces every endpoint's retention."""
    now = clock()
    include = conf.retention_include_failed() if include_failed is None else include_failed
    statuses = _statuses(include)
    cutoffs = webhook_retention_cutoffs(older_than=older_than, now=now)
    if not cutoffs:
        return PruneReport()
    expired = _expired(cutoffs, statuses)
    if dry_run:
        return PruneReport(groups=_dry_run_groups(expired))
    bounds = _id_bounds(cutoffs)
    if bounds is None:
        _prune_rollups(cutoffs)
        return PruneReport()
    low, high = bounds
    target = batch_seconds if batch_seconds is not None else conf.retention_batch_seconds()
    started = time.monotonic()
    width, deleted, batches, complete = 1000, 0, 0, True
    while low <= high:
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            complete = False
            break
        batch_started = time.monotonic()
        with transaction.atomic():
            count, _ = WebhookEvent.objects.filter(
                expired, pk__gte=low, pk__lt=low + width
            ).delete()
        deleted += count
        batches += 1
        low += width
        spent = time.monotonic() - batch_started
        # Keep each batch near the target: wider while fast, narrower when slow.
        if spent < target / 2:
            width = min(MAX_RANGE, width * 2)
        elif spent > target:
            width = max(MIN_RANGE, width // 2)
    if complete:
        _prune_rollups(cutoffs)
    logger.info(
        "webhook_events_pruned",
        extra={"count": deleted, "batches": batches, "complete": complete},
    )
    return PruneReport(deleted=deleted, batches=batches, complete=complete)


def _id_bounds(cutoffs: dict[int, datetime]) -> tuple[int, int] | None:
    """The id range that may hold expired rows: from the oldest id to the newest id received
    before the latest cutoff (both read from an index, one row each)."""
    latest = max(cutoffs.values())
    newest = (
        WebhookEvent.objects.filter(received_at__lt=latest)
        .order_by("-received_at")
        .values_list("pk", flat=True)
        .first()
    )
    if newest is None:
        return None
    oldest = WebhookEvent.objects.aggregate(low=Min("pk"))["low"]
    # Rows stored in the same instant may interleave ids a little: look a batch further.
    return int(oldest or newest), int(newest) + 1000


def _dry_run_groups(expired: Q) -> tuple[PruneGroup, ...]:
    slugs = dict(WebhookEndpoint.objects.values_list("pk", "slug"))
    rows = (
        WebhookEvent.objects.filter(expired)
        .order_by()
        .values_list("endpoint_id", "status")
        .annotate(n=Count("pk"), newest=Max("pk"))
    )
    groups = []
    for endpoint_id, status, count, _newest in rows:
        samples = tuple(
            WebhookEvent.objects.filter(expired, endpoint_id=endpoint_id, status=status)
            .order_by("pk")
            .values_list("event_id", flat=True)[:SAMPLE_IDS]
        )
        groups.append(
            PruneGroup(
                endpoint=slugs.get(endpoint_id, str(endpoint_id)),
                status=status,
                count=count,
                sample_ids=samples,
            )
        )
    return tuple(sorted(groups, key=lambda g: (g.endpoint, g.status)))


def _prune_rollups(cutoffs: dict[int, datetime]) -> None:
    oldest_kept = min(min(cutoffs.values()), timezone.now() - timedelta(days=MIN_ROLLUP_DAYS))
    WebhookEventHourly.objects.filter(hour__lt=oldest_kept).delete()
    VerificationFailureCount.objects.filter(hour__lt=oldest_kept).delete()
