"""Admin for sent email: status and timeline, and a "resend" action.

Resending needs `liaison_email.resend_emailmessage` and a confirmation page
(`integrations.core.admin_actions.confirmed_action`): it mails the recipients again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from integrations.core.admin_actions import (
    ActionOutcome,
    GuardedActionsMixin,
    confirmed_action,
    has_model_permission,
    rows_apply,
)
from integrations.core.exceptions import IntegrationError
from integrations.email.models import EmailMessage
from integrations.email.services import email_message_resend


@admin.register(EmailMessage)
class EmailMessageAdmin(GuardedActionsMixin, admin.ModelAdmin):
    list_display = ["id", "subject", "recipient_count", "status", "transport", "created_at"]
    list_filter = ["status", "transport", "template_id"]
    search_fields = ["subject", "sg_message_id", "purpose_key", "template_id"]
    date_hierarchy = "created_at"
    exclude = ["request", "timeline"]
    readonly_fields = [
        *(f.name for f in EmailMessage._meta.fields if f.name not in ("request", "timeline")),
        "timeline_display",
    ]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="timeline")
    def timeline_display(self, obj: EmailMessage) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.timeline, indent=2))

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "resend")

    @admin.action(description="Resend (as a new message)", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[EmailMessage]) -> HttpResponse | None:
        def perform(rows: Sequence[EmailMessage]) -> ActionOutcome:
            return rows_apply(
                rows,
                lambda message: email_message_resend(message=message),
                label=lambda message: f"#{message.pk}",
                errors=(IntegrationError,),
            )

        return confirmed_action(
            self,
            request,
            action="resend",
            permission="resend",
            title="Resend these messages?",
            consequence="Each message is sent again, as a new message, to all its recipients.",
            rows=list(queryset),
            perform=perform,
            done="Resent {count} message(s).",
        )
