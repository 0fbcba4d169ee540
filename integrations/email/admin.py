"""Admin for sent email: status and timeline, and a "resend" action."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from integrations.core.exceptions import IntegrationError
from integrations.email.models import EmailMessage
from integrations.email.services import email_message_resend


@admin.register(EmailMessage)
class EmailMessageAdmin(admin.ModelAdmin):
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

    @admin.action(description="Resend (as a new message)")
    def resend(self, request: HttpRequest, queryset: QuerySet[EmailMessage]) -> None:
        done = 0
        for message in queryset:
            try:
                email_message_resend(message=message)
            except IntegrationError as exc:
                self.message_user(request, f"#{message.pk}: {exc}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, f"Resent {done} message(s).", messages.SUCCESS)
