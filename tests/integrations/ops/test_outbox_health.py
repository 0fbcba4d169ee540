"""The outbox in operations (issue 13): its section on the dashboard, in the command and the
report's JSON, and the `outbox_dead_items` alert, evaluated by beat and the command only."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.checks import run_checks
from django.core.management import call_command
from django.utils import timezone

from integrations.ops import registry
from integrations.ops.alerts import alert_raised, alerts_evaluate, alerts_recorded
from integrations.ops.selectors import health_report
from integrations.ops.services import health_check
from integrations.outbox.models import OutboxItem

pytestmark = pytest.mark.django_db

Status = OutboxItem.Status
DASHBOARD = "/admin/liaison_ops/health/"


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("ops", password=None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_health"))
    client.force_login(user)
    client.user = user
    return client


def _row(key: str, action: str, status: str, **fields) -> OutboxItem:
    return OutboxItem.objects.create(purpose_key=key, action=action, status=status, **fields)


def _outbox_alerts(report) -> set[tuple[str, str]]:
    return {(a.code, a.subject) for a in alerts_evaluate(report) if a.code == "outbox_dead_items"}


@pytest.fixture
def rows():
    """Two actions: mail with 2 pending (one due 2 minutes ago), 1 sending, 1 dead; a revoke
    with 1 pending not yet due; done rows, which are never counted."""
    now = timezone.now()
    _row("m:1", "test.mail", Status.PENDING, next_attempt_at=now - timedelta(minutes=2))
    _row("m:2", "test.mail", Status.PENDING, next_attempt_at=now + timedelta(minutes=5))
    _row("m:3", "test.mail", Status.SENDING, next_attempt_at=now)
    _row("m:4", "test.mail", Status.DEAD, attempts=10, last_error="ConnectionError")
    _row("r:1", "test.revoke", Status.PENDING, next_attempt_at=now + timedelta(hours=1))
    for i in range(3):
        _row(f"d:{i}", "test.mail", Status.DONE)


def test_report_carries_the_outbox_counts_per_action_and_the_lag(fake, rows):
    outbox = health_report().outbox
    assert outbox is not None
    assert (outbox.pending, outbox.sending, outbox.dead) == (3, 1, 1)
    mail, revoke = outbox.by_action["test.mail"], outbox.by_action["test.revoke"]
    assert (mail.pending, mail.sending, mail.dead) == (2, 1, 1)
    assert (revoke.pending, revoke.sending, revoke.dead) == (1, 0, 0)
    assert 115 <= outbox.lag_seconds <= 180  # the row due 2 minutes ago; future ones do not count
    assert outbox.oldest_due_at is not None


def test_dashboard_shows_the_outbox_section_with_counts_and_a_link_to_dead_rows(
    fake, rows, staff_client
):
    html = staff_client.get(DASHBOARD).content.decode()
    assert 'id="outbox-summary" data-pending="3" data-sending="1" data-dead="1"' in html
    mail = html[html.index('data-outbox-action="test.mail"') :].split("</tr>")[0]
    assert '<td class="num" data-field="pending">2</td>' in mail
    assert '<td class="num" data-field="sending">1</td>' in mail
    assert '<td class="num" data-field="dead">1</td>' in mail
    assert 'data-outbox-action="test.revoke"' in html
    assert "/admin/liaison_outbox/outboxitem/" not in html  # may not view the rows: no link
    staff_client.user.user_permissions.add(Permission.objects.get(codename="view_outboxitem"))
    html = staff_client.get(DASHBOARD).content.decode()
    assert 'href="/admin/liaison_outbox/outboxitem/?status__exact=dead"' in html
    # Shown as the report says so (a GET evaluates, never records).
    assert 'data-alert="outbox_dead_items" data-alert-subject="test.mail"' in html


def test_dashboard_with_an_empty_outbox_says_so(fake, staff_client):
    _row("d:1", "test.mail", Status.DONE)
    html = staff_client.get(DASHBOARD).content.decode()
    assert 'data-pending="0" data-sending="0" data-dead="0"' in html
    assert "No open outbox rows" in html
    assert "outbox_dead_items" not in html


def test_without_the_outbox_app_the_section_is_absent(fake, staff_client, monkeypatch):
    monkeypatch.delitem(registry._SECTIONS, "outbox")
    report = health_check(sync=False)
    assert report.outbox is None
    assert report.as_dict()["outbox"] is None
    html = staff_client.get(DASHBOARD).content.decode()
    assert 'id="outbox-summary"' not in html


def test_dead_alert_fires_with_a_dead_row_and_not_without(fake):
    row = _row("m:dead", "test.mail", Status.DEAD, attempts=10)
    _row("m:pending", "test.mail", Status.PENDING, next_attempt_at=timezone.now())
    assert _outbox_alerts(health_report()) == {("outbox_dead_items", "test.mail")}
    row.status = Status.DONE  # staff retried it and it was performed
    row.save()
    assert _outbox_alerts(health_report()) == set()


def test_dead_threshold_is_a_setting(fake, settings):
    _row("m:1", "test.mail", Status.DEAD)
    settings.ALERT_OUTBOX_DEAD_ITEMS = 1
    assert _outbox_alerts(health_report()) == set()
    _row("m:2", "test.mail", Status.DEAD)
    assert _outbox_alerts(health_report()) == {("outbox_dead_items", "test.mail")}


def test_invalid_threshold_fails_the_system_check(settings):
    settings.ALERT_OUTBOX_DEAD_ITEMS = -1
    messages = [m for m in run_checks() if m.id == "liaison_ops.E002"]
    assert any("ALERT_OUTBOX_DEAD_ITEMS" in m.msg for m in messages)


def test_only_beat_and_the_command_record_and_signal_the_dead_alert(fake, staff_client):
    raised: list[str] = []

    def receiver(sender, alert, **kwargs):
        raised.append(alert.key)

    _row("m:dead", "test.mail", Status.DEAD, attempts=10)
    alert_raised.connect(receiver)
    try:
        staff_client.get(DASHBOARD)
        assert raised == []
        assert alerts_recorded() == []
        health_check(sync=True)  # what the periodic task does
        assert raised == ["outbox_dead_items:test.mail"]
        assert alerts_recorded() == ["outbox_dead_items"]
    finally:
        alert_raised.disconnect(receiver)


def _command(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("integrations_health", *args, stdout=out, skip_checks=True)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_command_prints_the_outbox_and_exits_one_on_a_dead_row(fake, rows):
    code, out = _command()
    assert code == 1
    assert "Outbox: pending=3 sending=1 dead=1" in out
    assert "[outbox_dead_items]" in out
    code, out = _command("--json")
    report = json.loads(out)
    assert report["outbox"]["by_action"]["test.mail"] == {"pending": 2, "sending": 1, "dead": 1}
    assert report["outbox"]["dead"] == 1
    assert ("outbox_dead_items", "test.mail") in {
        (a["code"], a["subject"]) for a in report["alerts"]
    }
