"""The outbox in the admin: rows listed and filtered, dead rows retried after a confirmation,
only by staff holding `liaison_outbox.retry_outboxitem`."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.outbox.models import OutboxItem
from integrations.outbox.registry import outbox_action_register

pytestmark = pytest.mark.django_db

URL = "admin:liaison_outbox_outboxitem_changelist"


@pytest.fixture
def performed() -> list[int]:
    calls: list[int] = []
    outbox_action_register("test.admin", lambda item: calls.append(item.pk))
    return calls


def dead_row() -> OutboxItem:
    return OutboxItem.objects.create(
        purpose_key="k:dead", action="test.admin", status=OutboxItem.Status.DEAD, attempts=10
    )


def test_dead_rows_are_listed_and_filterable(admin_client):
    row = dead_row()
    OutboxItem.objects.create(purpose_key="k:done", action="test.admin", status="done")
    page = admin_client.get(reverse(URL), {"status__exact": "dead"})
    assert page.status_code == 200
    assert b"k:dead" in page.content
    assert b"k:done" not in page.content
    assert str(row.pk).encode() in page.content


def test_retry_asks_for_confirmation_then_performs(
    admin_client, performed, django_capture_on_commit_callbacks
):
    row = dead_row()
    data = {"action": "retry", ACTION_CHECKBOX_NAME: [row.pk]}
    page = admin_client.post(reverse(URL), data)
    assert b"Retry these outbox items?" in page.content
    assert performed == []
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(reverse(URL), {**data, "confirmed": "yes"}, follow=True)
    assert b"Queued 1 item(s) again." in done.content
    assert performed == [row.pk]
    row.refresh_from_db()
    assert row.status == OutboxItem.Status.DONE


def test_retry_needs_its_own_permission(client, django_user_model, performed):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_outboxitem"))
    client.force_login(user)
    row = dead_row()
    data = {"action": "retry", ACTION_CHECKBOX_NAME: [row.pk], "confirmed": "yes"}
    assert client.post(reverse(URL), data).status_code == 403
    assert performed == []
    assert OutboxItem.objects.get().status == OutboxItem.Status.DEAD
