"""`manage.py integrations_health [--json]`: the dashboard's snapshot on the command line.

Exit status 0 when healthy, 1 when any alert is active (for cron and monitoring).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from integrations.ops.report import HealthReport
from integrations.ops.services import health_check


class Command(BaseCommand):
    help = "Print the integrations health snapshot; exit 1 when any alert is active."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the snapshot as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = health_check(sync=True)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        else:
            self._print(report)
        if not report.healthy:
            sys.exit(1)

    def _print(self, report: HealthReport) -> None:
        out = self.stdout
        out.write(f"Integrations health at {report.generated_at}")
        out.write(f"\nOutbound services (last {report.window_seconds} s):")
        for row in report.services:
            rate = "-" if row.success_rate is None else f"{row.success_rate:.1%}"
            out.write(
                f"  {row.name:<12} breaker={row.breaker_state:<9} calls={row.calls:<6} "
                f"success={rate:<7} errors={row.errors_total:<5} "
                f"p50={row.latency_p50_ms} p95={row.latency_p95_ms} ms "
                f"rate-limit={row.rate_limit_utilization:.0%}"
            )
        out.write("\nWebhook endpoints:")
        for endpoint in report.endpoints:
            out.write(
                f"  {endpoint.slug:<20} deliveries24h={endpoint.deliveries_24h:<6} "
                f"verif-fail/h={endpoint.verification_failures_this_hour:<4} "
                f"lag={endpoint.lag_seconds}s failed={endpoint.failed} dead={endpoint.dead}"
            )
        if not report.endpoints:
            out.write("  (none)")
        outbox = report.outbox
        if outbox is not None:
            out.write(
                f"\nOutbox: pending={outbox.pending} sending={outbox.sending} "
                f"dead={outbox.dead} lag={outbox.lag_seconds}s"
            )
            for action, counts in outbox.by_action.items():
                out.write(
                    f"  {action:<20} pending={counts.pending:<6} sending={counts.sending:<4} "
                    f"dead={counts.dead}"
                )
        out.write(f"\nOAuth accounts needing reconnect: {report.oauth.needs_reconnect_total}")
        if report.alerts:
            out.write(f"\nALERTS ({len(report.alerts)}):")
            for alert in report.alerts:
                out.write(f"  [{alert.code}] {alert.message}")
        else:
            out.write(self.style.SUCCESS("\nHealthy: no active alerts."))
