"""Prometheus metrics at `/metrics` (prometheus-client): monotonic counters and histograms.

Rates and quantiles are Prometheus' business: every series here is a running total (or a
current level), never a windowed re-aggregation, and a scrape reads only small tables and the
shared cache — never the event log — so it costs the same at ten thousand and ten million
events. The totals live in the database (webhooks: `WebhookEventTally`, kept by triggers) or
in the shared cache (outbound: `integrations.ops.outbound_totals`), so one scrape of any web
process sees what every web and worker process did. Names (all prefixed `liaison_`):

webhooks:
  webhook_deliveries_total{endpoint,provider,outcome="stored"|"duplicate"} (events),
  webhook_rejections_total{endpoint,reason} (deliveries refused by verification or parsing),
  webhook_processing_total{endpoint,outcome="processed"|"ignored"|"failed"|"dead"},
  webhook_processing_duration_seconds{endpoint} histogram (claim → outcome),
  webhook_events{endpoint,status} (events stored in each status now; a level, from counters)
outbound, per `service`:
  outbound_calls_total{service,outcome="ok"|"error"|"failure"} (attempts; "failure" counts
  against the breaker), outbound_call_duration_seconds{service} histogram,
  outbound_breaker_state{service,state} (1 for the current state), outbound_breaker_trips_total
OAuth: oauth_accounts{provider,status}
alerts: alerts_active{code} — as last recorded by the periodic health check (beat) or
  `manage.py integrations_health`; a scrape never evaluates alerts.

Access (`metrics_view`): a request with `Authorization: Bearer <METRICS_TOKEN>` is allowed; so
is a client address in METRICS_ALLOWED_IPS (addresses or networks). When neither setting is
configured the metrics are off (403, and one log line per process saying how to switch them
on), except with DEBUG=1, where loopback clients may read them. Loopback is not trusted
otherwise: behind a reverse proxy on the same host every client would be loopback. Otherwise
401 (token configured, none or a wrong one sent) or 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from integrations.ops import conf
from integrations.ops.alerts import CODES, alerts_recorded
from integrations.ops.outbound_totals import outbound_totals
from integrations.ops.registry import health_section

logger = logging.getLogger(__name__)

BREAKER_STATES = ("closed", "open", "half-open")
WEBHOOK_OUTCOMES = ("processed", "ignored", "failed", "dead")
WEBHOOK_STATUSES = ("pending", "processing", "processed", "ignored", "failed", "dead")

_disabled_logged = False
METRICS_DISABLED_MESSAGE = (
    "metrics_disabled: /metrics answers 403 until METRICS_TOKEN (scrapers send it as a bearer "
    "token in the Authorization header) or METRICS_ALLOWED_IPS (addresses or CIDR networks) "
    "is set"
)


class LiaisonCollector(Collector):
    """Reads the totals once per scrape; nothing here aggregates history."""

    def collect(self) -> Iterator[Any]:
        yield from _webhooks()
        yield from _outbound()
        yield from _oauth()
        active = dict.fromkeys(CODES, 0)
        for code in alerts_recorded():
            if code in active:
                active[code] += 1
        family = GaugeMetricFamily(
            "liaison_alerts_active",
            "Active alerts by rule, as last recorded by the periodic health check.",
            labels=["code"],
        )
        for code, count in active.items():
            family.add_metric([code], count)
        yield family


def _histogram(
    family: HistogramMetricFamily,
    labels: list[str],
    *,
    bounds: tuple[float, ...],
    per_bucket: dict[str, int],
    total_seconds: float,
    label_of: Any = lambda bound: f"{bound:g}",
) -> None:
    """Add one histogram: `per_bucket` holds non-cumulative counts keyed by bound label."""
    buckets, running = [], 0
    for bound in bounds:
        running += per_bucket.get(label_of(bound), 0)
        buckets.append((f"{bound:g}", running))
    running += per_bucket.get("+Inf", 0)
    buckets.append(("+Inf", running))
    family.add_metric(labels, buckets, total_seconds)


def _webhooks() -> Iterator[Any]:
    from webhooks.counters import DURATION_BUCKETS

    section = health_section("webhook_metric_totals")
    rows = list(section()) if section else []
    deliveries = CounterMetricFamily(
        "liaison_webhook_deliveries",
        "Webhook events received: stored, or acknowledged as duplicates of stored ones.",
        labels=["endpoint", "provider", "outcome"],
    )
    rejections = CounterMetricFamily(
        "liaison_webhook_rejections",
        "Deliveries refused (signature, timestamp, malformed or oversized body).",
        labels=["endpoint", "reason"],
    )
    processing = CounterMetricFamily(
        "liaison_webhook_processing",
        "Processing attempts by outcome (failed: will be retried; dead: given up).",
        labels=["endpoint", "outcome"],
    )
    duration = HistogramMetricFamily(
        "liaison_webhook_processing_duration_seconds",
        "Time from a worker's claim to the attempt's outcome.",
        labels=["endpoint"],
    )
    events = GaugeMetricFamily(
        "liaison_webhook_events",
        "Stored events in each status now.",
        labels=["endpoint", "status"],
    )
    for slug, provider, totals in rows:
        deliveries.add_metric([slug, provider, "stored"], totals.get("received", 0))
        deliveries.add_metric([slug, provider, "duplicate"], totals.get("duplicate", 0))
        for name, value in sorted(totals.items()):
            if name.startswith("rejected:"):
                rejections.add_metric([slug, name.split(":", 1)[1]], value)
        for outcome in WEBHOOK_OUTCOMES:
            processing.add_metric([slug, outcome], totals.get(f"outcome:{outcome}", 0))
        for status in WEBHOOK_STATUSES:
            events.add_metric([slug, status], max(0, totals.get(f"status:{status}", 0)))
        _histogram(
            duration,
            [slug],
            bounds=DURATION_BUCKETS,
            per_bucket={
                name.split(":", 1)[1]: value
                for name, value in totals.items()
                if name.startswith("duration_le:")
            },
            total_seconds=totals.get("duration_us", 0) / 1e6,
        )
    yield from (deliveries, rejections, processing, duration, events)


def _outbound() -> Iterator[Any]:
    from integrations.outbound.health import snapshot

    totals = outbound_totals()
    calls = CounterMetricFamily(
        "liaison_outbound_calls",
        "Outbound attempts by outcome (failure: counted against the breaker).",
        labels=["service", "outcome"],
    )
    duration = HistogramMetricFamily(
        "liaison_outbound_call_duration_seconds",
        "Outbound attempt latency.",
        labels=["service"],
    )
    for service, row in sorted(totals.items()):
        for outcome, count in sorted(row.outcomes.items()):
            calls.add_metric([service, outcome], count)
        _histogram(
            duration,
            [service],
            bounds=row.bounds,
            per_bucket=row.buckets,
            total_seconds=row.seconds_sum,
        )
    state = GaugeMetricFamily(
        "liaison_outbound_breaker_state",
        "Circuit breaker state (1 for the current state).",
        labels=["service", "state"],
    )
    trips = CounterMetricFamily(
        "liaison_outbound_breaker_trips", "Times the breaker opened.", labels=["service"]
    )
    for name, data in sorted(snapshot().items()):
        breaker = data["breaker"]
        for candidate in BREAKER_STATES:
            state.add_metric([name, candidate], 1 if breaker["state"] == candidate else 0)
        trips.add_metric([name], breaker["trips"])
    yield from (calls, duration, state, trips)


def _oauth() -> Iterator[Any]:
    accounts = GaugeMetricFamily(
        "liaison_oauth_accounts", "Connected accounts by status.", labels=["provider", "status"]
    )
    section = health_section("connected_account_counts")
    for provider, by_status in sorted((section() if section else {}).items()):
        for status, count in sorted(by_status.items()):
            accounts.add_metric([provider, status], count)
    yield accounts


def metrics_text() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LiaisonCollector())
    return generate_latest(registry)


def has_metrics_token(request: HttpRequest) -> bool:
    """Whether the request carries `Authorization: Bearer <METRICS_TOKEN>` (constant time)."""
    token = conf.metrics_token()
    if not token:
        return False
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def metrics_access(request: HttpRequest) -> int:
    """200 when the request may read the metrics, else 401 or 403."""
    token = conf.metrics_token()
    allowed = conf.metrics_allowed_ips()
    if has_metrics_token(request):
        return 200
    address = _address(request.META.get("REMOTE_ADDR", ""))
    if allowed:
        if address is not None and any(address in network for network in _networks(allowed)):
            return 200
    elif not token:
        if settings.DEBUG and address is not None and address.is_loopback:
            return 200
        _log_disabled_once()
    return 401 if token else 403


def _log_disabled_once() -> None:
    global _disabled_logged
    if not _disabled_logged:
        _disabled_logged = True
        # One constant line that says what to do (plain-text logs show no extra fields).
        logger.warning(METRICS_DISABLED_MESSAGE)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _networks(values: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(value, strict=False) for value in values]
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    status = metrics_access(request)
    if status != 200:
        response = HttpResponse(
            "metrics: access denied\n", status=status, content_type="text/plain"
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
