"""Prometheus metrics at `/metrics` (prometheus-client).

Every value is read at scrape time from the shared state (Redis or this process) and the
database, so one scrape of any web process sees what every process did; nothing is kept in
per-process counters. Names (all prefixed `liaison_`):

outbound, per `service` (over the last INTEGRATIONS_METRICS_WINDOW_SECONDS, see
`liaison_outbound_window_seconds`):
  outbound_calls_recent, outbound_attempts_recent, outbound_errors_recent{error},
  outbound_error_ratio, outbound_latency_ms{quantile="0.5"|"0.95"},
  outbound_breaker_state{state="closed"|"open"|"half-open"} (1 for the current state),
  outbound_breaker_trips_total, outbound_breaker_rejected_recent,
  outbound_rate_limit_utilization, outbound_rate_limit_waits_recent,
  outbound_rate_limit_wait_seconds_recent, outbound_rate_limit_rejected_recent
webhooks, per `endpoint`:
  webhook_deliveries_total, webhook_events{status}, webhook_processing_lag_seconds,
  webhook_verification_failures_total{reason}, webhook_verification_failures_hour,
  webhook_processing_seconds{stat="avg"|"max"} (received → processed, last hour)
OAuth, per `provider`:
  oauth_accounts{status}, oauth_token_refreshes_recent (accounts refreshed in the last hour),
  oauth_refresh_failing_accounts
alerts:
  alerts_active{code}

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
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from integrations.ops import conf
from integrations.ops.alerts import CODES, alerts_evaluate
from integrations.ops.registry import health_section
from integrations.ops.selectors import health_report

logger = logging.getLogger(__name__)

BREAKER_STATES = ("closed", "open", "half-open")

_disabled_logged = False
METRICS_DISABLED_MESSAGE = (
    "metrics_disabled: /metrics answers 403 until METRICS_TOKEN (scrapers send it as a bearer "
    "token in the Authorization header) or METRICS_ALLOWED_IPS (addresses or CIDR networks) "
    "is set"
)


class LiaisonCollector(Collector):
    """Builds every metric family from one health report per scrape."""

    def collect(self) -> Iterator[Any]:
        report = health_report()
        yield from _outbound(report)
        yield from _webhooks(report)
        yield from _oauth(report)
        active = {code: 0 for code in CODES}
        for alert in alerts_evaluate(report):
            active[alert.code] += 1
        family = GaugeMetricFamily(
            "liaison_alerts_active", "Active alerts by rule.", labels=["code"]
        )
        for code, count in active.items():
            family.add_metric([code], count)
        yield family


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"liaison_{name}", doc, labels=labels)


def _outbound(report: dict[str, Any]) -> Iterator[Any]:
    rows = report["services"]
    yield GaugeMetricFamily(
        "liaison_outbound_window_seconds",
        "Window of the *_recent outbound metrics, in seconds.",
        value=report["window_seconds"],
    )
    simple = [
        ("outbound_calls_recent", "calls", "Logical outbound calls in the window."),
        ("outbound_attempts_recent", "attempts", "Outbound HTTP/SDK attempts in the window."),
        ("outbound_error_ratio", "error_rate", "Failed attempts / attempts in the window."),
        (
            "outbound_breaker_rejected_recent",
            "breaker_rejected",
            "Calls failed fast by an open breaker in the window.",
        ),
        (
            "outbound_rate_limit_utilization",
            "rate_limit_utilization",
            "Admitted / allowed by the rate limiter in the window.",
        ),
        (
            "outbound_rate_limit_waits_recent",
            "rate_limit_waits",
            "Attempts that waited for the rate limiter in the window.",
        ),
        (
            "outbound_rate_limit_wait_seconds_recent",
            "rate_limit_wait_seconds",
            "Seconds spent waiting for the rate limiter in the window.",
        ),
        (
            "outbound_rate_limit_rejected_recent",
            "rate_limit_rejected",
            "Attempts refused by the rate limiter in the window.",
        ),
    ]
    for name, key, doc in simple:
        family = _gauge(name, doc, ["service"])
        for row in rows:
            family.add_metric([row["name"]], float(row[key] or 0))
        yield family
    errors = _gauge(
        "outbound_errors_recent",
        "Failed attempts in the window, by error class.",
        ["service", "error"],
    )
    latency = _gauge(
        "outbound_latency_ms",
        "Attempt latency quantiles in the window (histogram bucket bounds).",
        ["service", "quantile"],
    )
    state = _gauge(
        "outbound_breaker_state",
        "Circuit breaker state (1 for the current state).",
        ["service", "state"],
    )
    trips = CounterMetricFamily(
        "liaison_outbound_breaker_trips", "Times the breaker opened.", labels=["service"]
    )
    for row in rows:
        for error, count in sorted(row["errors"].items()):
            errors.add_metric([row["name"], error], count)
        for quantile, key in (("0.5", "latency_p50_ms"), ("0.95", "latency_p95_ms")):
            if row[key] is not None:
                latency.add_metric([row["name"], quantile], row[key])
        for candidate in BREAKER_STATES:
            state.add_metric(
                [row["name"], candidate], 1 if row["breaker_state"] == candidate else 0
            )
        trips.add_metric([row["name"]], row["breaker_trips"])
    yield from (errors, latency, state, trips)


def _webhooks(report: dict[str, Any]) -> Iterator[Any]:
    rows = report["endpoints"]
    deliveries = CounterMetricFamily(
        "liaison_webhook_deliveries", "Deliveries stored (all time).", labels=["endpoint"]
    )
    events = _gauge("webhook_events", "Stored events by status.", ["endpoint", "status"])
    lag = _gauge("webhook_processing_lag_seconds", "Age of the oldest pending event.", ["endpoint"])
    hour = _gauge(
        "webhook_verification_failures_hour",
        "Deliveries rejected in the current hour.",
        ["endpoint"],
    )
    spent = _gauge(
        "webhook_processing_seconds",
        "Received-to-processed time of events received in the last hour.",
        ["endpoint", "stat"],
    )
    for row in rows:
        slug = row["slug"]
        deliveries.add_metric([slug], row["deliveries_total"])
        for status in ("pending", "processing", "failed", "dead"):
            events.add_metric([slug, status], row[status])
        lag.add_metric([slug], row["lag_seconds"])
        hour.add_metric([slug], row["verification_failures_this_hour"])
        for stat in ("avg", "max"):
            value = row[f"processing_{stat}_seconds"]
            if value is not None:
                spent.add_metric([slug, stat], value)
    yield from (deliveries, events, lag, hour, spent)
    failures = CounterMetricFamily(
        "liaison_webhook_verification_failures",
        "Deliveries rejected by verification (as long as the hourly counts are kept).",
        labels=["endpoint", "reason"],
    )
    totals = health_section("webhook_verification_failure_totals")
    for slug, reason, total in totals() if totals else ():
        failures.add_metric([slug, reason], total)
    yield failures


def _oauth(report: dict[str, Any]) -> Iterator[Any]:
    accounts = _gauge("oauth_accounts", "Connected accounts by status.", ["provider", "status"])
    refreshed = _gauge(
        "oauth_token_refreshes_recent",
        "Accounts whose token was refreshed in the last hour.",
        ["provider"],
    )
    failing = _gauge(
        "oauth_refresh_failing_accounts",
        "Active accounts whose last refreshes failed.",
        ["provider"],
    )
    for provider, row in sorted(report["oauth"]["providers"].items()):
        for status, count in sorted(row["by_status"].items()):
            accounts.add_metric([provider, status], count)
        refreshed.add_metric([provider], row["refreshed_last_hour"])
        failing.add_metric([provider], row["refresh_failing"])
    yield from (accounts, refreshed, failing)


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
