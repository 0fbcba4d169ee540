"""The event log's changelist: lists that never count or scan the log.

- Pagination without `COUNT(*)` (`EventLogPaginator`): the count is what the current page
  and a few pages after it hold (one `LIMIT`ed id query), and, unfiltered on PostgreSQL, the
  planner's row estimate (`pg_class.reltuples`) when that is larger — "about N".
- Filters whose choices come from small tables: statuses are constants, endpoints and
  providers come from the endpoint table, event types from `WebhookEventType` (kept at
  ingest). No facet counts, no full result count.
- Dates: a bounded "received" filter (last hour … last 30 days) instead of
  `date_hierarchy`, which reads the distinct years/months/days of the whole log.
- Search: an exact event id or subject (`pi_…`, `cus_…`, a SendGrid message id,
  `owner/repo`), each served by an index that leads with that column.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property

from webhooks.counters import event_types_seen
from webhooks.models import WebhookEndpoint

# How many pages past the current one the lookahead counts (so the page links show them).
LOOKAHEAD_PAGES = 5


class EventLogPaginator(Paginator):
    """A paginator whose `count` costs one bounded query (see the module)."""

    def __init__(self, *args: Any, page_number: int = 1, filtered: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.page_number = max(1, page_number)
        self.filtered = filtered

    @cached_property
    def count(self) -> int:
        queryset = cast(QuerySet[Any], self.object_list)
        offset = (self.page_number - 1) * self.per_page
        limit = self.per_page * LOOKAHEAD_PAGES + 1
        seen = len(queryset.values_list("pk", flat=True)[offset : offset + limit])
        counted = offset + seen if seen or offset == 0 else 0
        if not self.filtered:
            counted = max(counted, _estimated_rows(queryset))
        return counted


def _estimated_rows(queryset: QuerySet[Any]) -> int:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return max(0, int(row[0])) if row and row[0] is not None else 0


class ReceivedWithinFilter(admin.SimpleListFilter):
    title = "received"
    parameter_name = "received_within"
    WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
    WINDOWS["30d"] = timedelta(days=30)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("1h", "Last hour"),
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        window = self.WINDOWS.get(self.value() or "")
        if window is None:
            return queryset
        return queryset.filter(received_at__gte=timezone.now() - window)


class ProviderFilter(admin.SimpleListFilter):
    """Providers of the configured endpoints (the endpoint table, not the log)."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        providers = WebhookEndpoint.objects.order_by("provider").values_list("provider", flat=True)
        return [(p, p) for p in dict.fromkeys(providers)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        ids = WebhookEndpoint.objects.filter(provider=self.value()).values_list("pk", flat=True)
        return queryset.filter(endpoint_id__in=list(ids))


class EventTypeFilter(admin.SimpleListFilter):
    """Event types seen (per endpoint when one is selected), from `WebhookEventType` (and the
    arrivals not folded into it yet)."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        endpoint = request.GET.get("endpoint__id__exact")
        endpoint_id = int(endpoint) if endpoint and endpoint.isdigit() else None
        return [(t, t) for t in event_types_seen(endpoint_id=endpoint_id)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(event_type=self.value()) if self.value() else queryset


class EventLogListMixin(admin.ModelAdmin):
    """Changelist settings of `WebhookEventAdmin` (see the module)."""

    list_filter = [
        "status",
        # The endpoint table's rows (RelatedOnlyFieldListFilter would scan the log for them).
        "endpoint",
        ProviderFilter,
        EventTypeFilter,
        ReceivedWithinFilter,
    ]
    search_fields = ["event_id", "subject"]
    search_help_text = "An exact event id or subject (pi_…, cus_…, a message id, owner/repo)."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EventLogPaginator

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> Paginator:
        try:
            page = int(request.GET.get("p", 1))
        except ValueError:
            page = 1
        ignored = {"p", "o", "_changelist_filters"}
        filtered = any(key not in ignored for key in request.GET)
        return EventLogPaginator(
            queryset,
            per_page,
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
            page_number=page,
            filtered=filtered,
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(event_id=term) | Q(subject=term)), False
