"""Admin for sent email: what was sent (subject, text and HTML body), to whom, and what
happened to it (a readable timeline), plus the "resend" actions.

The page is read-only (no Add, Save or Delete): a message is a record of what was sent.
Recipients are searchable (To, Cc and Bcc). The HTML body is shown in an `<iframe
sandbox="" srcdoc="…">`: an empty sandbox runs no script, submits no form and gets an opaque
origin (no cookies, no access to the admin page), and a `srcdoc` document inherits the admin
page's Content-Security-Policy (`integrations.core.csp`; `img-src 'self' data:`), so remote
images and tracking pixels in a message are not fetched when staff open it.

Resending needs `liaison_email.resend_emailmessage` and a confirmation page
(`integrations.core.admin_actions.confirmed_action`): it mails the recipients again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

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

_HEADER_FIELDS = [
    "from_email",
    "to_list",
    "cc_list",
    "bcc_list",
    "reply_to",
    "subject",
    "template_id",
]
_ADDRESS_FIELDS = {"to", "cc", "bcc"}
_BODY_FIELDS = ["text_body", "html_body"]
_HIDDEN = {"id", "request", "timeline"}
# Timeline entry keys worth showing besides the event and its time (SendGrid event fields).
_DETAIL_KEYS = ("reason", "type", "status", "response", "attempt", "url", "asm_group_id")


def _when(epoch: Any) -> tuple[str, str]:
    """(ISO 8601 in UTC, "3 minutes ago") for an epoch; ("", "") when it is not a number."""
    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return "", ""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    now = timezone.now()
    ago = f"{timesince(moment, now)} ago" if moment <= now else f"in {timesince(now, moment)}"
    return moment.isoformat().replace("+00:00", "Z"), ago


@admin.register(EmailMessage)
class EmailMessageAdmin(GuardedActionsMixin, admin.ModelAdmin):
    list_display = ["id", "subject", "recipients", "status", "transport", "created_at"]
    list_filter = ["status", "transport", "template_id"]
    # `to` / `cc` / `bcc` are JSON lists: icontains matches an address (or part of one).
    search_fields = ["to", "cc", "bcc", "subject", "=sg_message_id", "purpose_key", "template_id"]
    search_help_text = "Recipient (To, Cc, Bcc), subject, SendGrid message id or purpose key."
    date_hierarchy = "created_at"
    actions = ["resend", "resend_forced"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = {*_HEADER_FIELDS, *_ADDRESS_FIELDS, *_HIDDEN}
        delivery = [f.name for f in EmailMessage._meta.fields if f.name not in shown]
        return [
            ("Message", {"fields": _HEADER_FIELDS}),
            ("Body", {"fields": _BODY_FIELDS}),
            ("Delivery", {"fields": delivery}),
            ("Timeline", {"fields": ["timeline_display"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [f.name for f in EmailMessage._meta.fields if f.name not in _HIDDEN]
        return [*fields, "to_list", "cc_list", "bcc_list", *_BODY_FIELDS, "timeline_display"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="recipients")
    def recipients(self, obj: EmailMessage) -> str:
        first = obj.to[0] if obj.to else "-"
        more = obj.recipient_count - 1 if obj.to else obj.recipient_count
        return f"{first} (+{more})" if more > 0 else str(first)

    @admin.display(description="to")
    def to_list(self, obj: EmailMessage) -> str:
        return ", ".join(obj.to) or "-"

    @admin.display(description="cc")
    def cc_list(self, obj: EmailMessage) -> str:
        return ", ".join(obj.cc) or "-"

    @admin.display(description="bcc")
    def bcc_list(self, obj: EmailMessage) -> str:
        return ", ".join(obj.bcc) or "-"

    @admin.display(description="text")
    def text_body(self, obj: EmailMessage) -> SafeString | str:
        text = (obj.request or {}).get("text") or ""
        if not text:
            return "-"
        return format_html('<pre class="email-text" style="white-space: pre-wrap">{}</pre>', text)

    @admin.display(description="HTML")
    def html_body(self, obj: EmailMessage) -> SafeString | str:
        html = (obj.request or {}).get("html") or ""
        if not html:
            return "-"
        return format_html(
            '<iframe class="email-html" sandbox="" srcdoc="{}" title="HTML body of message {}" '
            'referrerpolicy="no-referrer" loading="lazy" '
            'style="width: 100%; min-width: 40em; height: 32em; border: 1px solid #ccc; '
            'background: #fff"></iframe>',
            html,
            obj.pk,
        )

    @admin.display(description="timeline")
    def timeline_display(self, obj: EmailMessage) -> SafeString | str:
        entries = [e for e in (obj.timeline or []) if isinstance(e, dict)]
        if not entries:
            return "-"
        rows = []
        for entry in entries:
            iso, ago = _when(entry.get("at"))
            details = ", ".join(
                f"{key}: {entry[key]}" for key in _DETAIL_KEYS if entry.get(key) not in (None, "")
            )
            rows.append((str(entry.get("event") or ""), iso, iso or "-", ago, details))
        body = format_html_join(
            "",
            '<tr><td>{}</td><td><time datetime="{}">{}</time></td><td>{}</td><td>{}</td></tr>',
            rows,
        )
        return format_html(
            '<table class="email-timeline"><thead><tr><th>event</th><th>at (UTC)</th>'
            "<th>when</th><th>details</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

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
            consequence="Each message is sent again, as a new message, to all its recipients. "
            "Messages SendGrid already accepted (or may have) are refused: use the forced "
            "resend for those.",
            rows=list(queryset),
            perform=perform,
            done="Resent {count} message(s).",
        )

    @admin.action(description="Resend even if SendGrid accepted it", permissions=["resend"])
    def resend_forced(
        self, request: HttpRequest, queryset: QuerySet[EmailMessage]
    ) -> HttpResponse | None:
        def perform(rows: Sequence[EmailMessage]) -> ActionOutcome:
            return rows_apply(
                rows,
                lambda message: email_message_resend(message=message, force=True),
                label=lambda message: f"#{message.pk}",
                errors=(IntegrationError,),
            )

        return confirmed_action(
            self,
            request,
            action="resend_forced",
            permission="resend",
            title="Resend these messages, even those SendGrid accepted?",
            consequence="Each message is sent again, as a new message, to all its recipients, "
            "even when SendGrid already accepted it: the recipients get it twice.",
            rows=list(queryset),
            perform=perform,
            done="Resent {count} message(s).",
        )
