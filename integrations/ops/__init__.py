"""Operations: the health report behind the admin dashboard, alerts, Prometheus metrics and
structured (JSON) logs with a request id that follows a request into its Celery tasks.

- `selectors.health_report()`: everything the dashboard, the staff API, `manage.py
  integrations_health` and the alerts read, as one typed `report.HealthReport` (frozen
  dataclasses; `as_dict()` is its JSON shape).
- `alerts.alerts_evaluate()` / `alerts.alerts_sync()`: threshold rules, state changes logged
  once and sent as `alert_raised` / `alert_cleared` signals.
- `metrics.metrics_view`: `/metrics` for Prometheus.
- `logs`: the JSON formatter, the request-id middleware and the Celery hooks.

`integrations.ops` must not import `webhooks` or `oauth_accounts` (DESIGN.md): those apps
register their sections in `integrations.ops.registry` from their `ready()`, and the sections
are simply empty when they are not installed.
"""
