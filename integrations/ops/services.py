"""Operations on the health state: `health_check()` (report + alerts, changes recorded) and the
built-in alert receiver that e-mails the site admins."""

from __future__ import annotations

import logging
from typing import Any

from django.core.mail import mail_admins

from integrations.ops import conf
from integrations.ops.alerts import Alert, alert_since, alerts_evaluate, alerts_sync
from integrations.ops.report import HealthAlert, HealthReport
from integrations.ops.selectors import health_report

logger = logging.getLogger(__name__)


def health_check(*, sync: bool = True) -> HealthReport:
    """The health report with its active alerts (`alerts`, each with `since`; `healthy`).

    `sync`: fold the outbound minutes into the hourly history and record alert state changes
    (log once, send the signals): the command and the periodic task (beat) sync. Pages and
    APIs read with `sync=False`, so a GET never evaluates-and-sends an alert.
    """
    if sync:
        from integrations.ops.history import outbound_history_update
        from integrations.outbound.config import known_services

        outbound_history_update(list(known_services()))
    report = health_report()
    alerts = alerts_evaluate(report)
    if sync:
        alerts_sync(alerts)
    return report.with_alerts(tuple(HealthAlert(alert, alert_since(alert)) for alert in alerts))


def alert_email_admins(sender: type[Alert], alert: Alert, raised: bool) -> None:
    """E-mail ADMINS through Django's mail (the SendGrid backend) when ALERT_EMAIL_ADMINS."""
    if not conf.alert_email_admins():
        return
    state = "RAISED" if raised else "cleared"
    subject = f"[{state}] {alert.code}: {alert.subject}"
    body = (
        f"Alert {alert.code} on {alert.subject} was {state.lower()}.\n\n"
        f"{alert.message}\n\nValue: {alert.value} (threshold {alert.threshold})\n"
        "See the health dashboard in the admin: /admin/liaison_ops/health/\n"
    )
    try:
        mail_admins(subject, body, fail_silently=False)
    except Exception:  # a mail outage must not break whatever evaluated the alerts
        logger.exception(
            "integrations.alert.email_failed code=%s subject=%s",
            alert.code,
            alert.subject,
            extra={"event": "integrations.alert.email_failed", "code": alert.code},
        )


def _on_raised(sender: type[Alert], alert: Alert, **kwargs: Any) -> None:
    alert_email_admins(sender, alert, True)


def _on_cleared(sender: type[Alert], alert: Alert, **kwargs: Any) -> None:
    alert_email_admins(sender, alert, False)


def connect_alert_receivers() -> None:
    from integrations.ops.alerts import alert_cleared, alert_raised

    alert_raised.connect(_on_raised, dispatch_uid="integrations.alert.email.raised")
    alert_cleared.connect(_on_cleared, dispatch_uid="integrations.alert.email.cleared")
