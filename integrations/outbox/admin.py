"""Admin for outbox rows: what is pending, sending, done or dead, and "retry" for dead rows.

Retrying performs the side effect again (mails a customer, calls a provider): it needs
`liaison_outbox.retry_outboxitem` and a confirmation page
(`integrations.core.admin_actions.confirmed_action`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from integrations.core.admin_actions import (
    ActionOutcome,
    GuardedActionsMixin,
    confirmed_action,
    has_model_permission,
)
from integrations.outbox.models import OutboxItem
from integrations.outbox.services import outbox_items_retry


@admin.register(OutboxItem)
class OutboxItemAdmin(GuardedActionsMixin, admin.ModelAdmin):
    list_display = ["id", "action", "purpose_key", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "action"]
    search_fields = ["purpose_key"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxItem._meta.fields]
    actions = ["retry"]
    # The changelist counts nothing by default: the table grows with every effect.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "retry")

    @admin.action(description="Retry dead items", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxItem]) -> HttpResponse | None:
        rows = list(queryset)

        def perform(selected: Sequence[OutboxItem]) -> ActionOutcome:
            changed = outbox_items_retry(items=selected)
            skipped = len(selected) - changed
            note = f" {skipped} not dead, left alone." if skipped else ""
            return ActionOutcome(changed=changed, note=note)

        return confirmed_action(
            self,
            request,
            action="retry",
            permission="retry",
            title="Retry these outbox items?",
            consequence="Each dead item's side effect (an email, a provider call) is "
            "performed again, with a fresh set of attempts.",
            rows=rows,
            perform=perform,
            done="Queued {count} item(s) again.",
        )
