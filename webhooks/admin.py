"""Admin for webhook endpoints, the event log and rejected deliveries.

Secrets are write-only: the form has a password field that adds a new secret (old ones stay
active unless retired), and the inline only says whether each one is active; no value is ever
rendered. Actions call the same services as the management commands, after a confirmation
page (`integrations.core.admin_actions.confirmed_action`), and need a permission beyond
"view": sending a test delivery and adding secrets `liaison_webhooks.change_webhookendpoint`,
replay `liaison_webhooks.replay_webhookevent`, mark ignored
`liaison_webhooks.ignore_webhookevent`. Endpoint settings are checked by
`WebhookEndpoint.clean()` (the provider's own `check_settings`), new secret included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from integrations.core.admin_actions import (
    ActionOutcome,
    GuardedActionsMixin,
    confirmed_action,
    has_model_permission,
)
from webhooks import conf
from webhooks.event_admin import EventLogListMixin
from webhooks.exceptions import WebhookConfigurationError, WebhookError
from webhooks.models import (
    VerificationFailure,
    VerificationFailureCount,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
)
from webhooks.providers import get_provider
from webhooks.selectors import webhook_endpoint_url
from webhooks.services import (
    webhook_endpoint_send_test,
    webhook_event_mark_ignored,
    webhook_event_replay,
    webhook_secret_add,
)

# The request being rendered (per thread/context), to build absolute URLs when
# WEBHOOKS_PUBLIC_BASE_URL is not set.
_current_request: ContextVar[HttpRequest | None] = ContextVar(
    "webhooks_admin_request", default=None
)


def _base_url() -> str:
    if conf.public_base_url():
        return conf.public_base_url()
    request = _current_request.get()
    return request.build_absolute_uri("/").rstrip("/") if request is not None else ""


class WebhookEndpointForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Write-only. Adds a secret; existing secrets stay active (rotation without loss) "
            "unless you tick the box below. Leave empty to keep the secrets as they are."
        ),
    )
    retire_old_secrets = forms.BooleanField(
        required=False, help_text="Deactivate every other secret once the new one is saved."
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "provider",
            "slug",
            "description",
            "active",
            "tolerance_seconds",
            "max_body_bytes",
            "options",
            "public_key",
            "duplicate_body_window_hours",
            "retention_days",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        window = self.fields.get("duplicate_body_window_hours")
        if window is not None:
            # Left empty: the endpoint keeps its window (a new one gets its provider's default).
            window.required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new_secret = data.get("new_secret")
        if new_secret:
            # Checked by the model's clean() with the other settings (provider rules).
            self.instance.stage_secret(
                new_secret, retire_others=bool(data.get("retire_old_secrets"))
            )
        provider = data.get("provider")
        if data.get("duplicate_body_window_hours") is None:
            data["duplicate_body_window_hours"] = self.instance.duplicate_body_window_hours
        if (
            self.instance.pk is None
            and provider
            and "duplicate_body_window_hours" not in self.changed_data
        ):
            # A new endpoint gets its provider's default window (24 h where nothing signed
            # carries a timestamp or id) unless the form says otherwise.
            try:
                default = get_provider(provider).default_duplicate_body_window_hours
            except WebhookError:
                default = 0
            data["duplicate_body_window_hours"] = default
        return data

    def _update_errors(self, errors: Any) -> None:
        # The model reports a refused secret under "secret"; on this form it is "new_secret".
        error_dict = getattr(errors, "error_dict", None)
        if error_dict is not None and "secret" in error_dict:
            error_dict["new_secret"] = error_dict.pop("secret")
        super()._update_errors(errors)  # type: ignore[misc]  # untyped in django-stubs


class WebhookSecretInline(admin.TabularInline):
    model = WebhookSecret
    extra = 0
    fields = ["value_state", "active", "created_at"]
    readonly_fields = ["value_state", "created_at"]
    can_delete = True
    verbose_name = "secret"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # added through the write-only field on the endpoint form

    @admin.display(description="value")
    def value_state(self, obj: WebhookSecret) -> str:
        return "set" if obj.pk else "not set"


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(GuardedActionsMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    inlines = [WebhookSecretInline]
    list_display = ["slug", "provider", "active", "secrets_state", "full_url", "created_at"]
    list_filter = ["provider", "active"]
    search_fields = ["slug", "description"]
    readonly_fields = ["full_url", "secrets_state", "created_at", "updated_at"]
    actions = ["send_test_delivery"]
    fieldsets = [
        (None, {"fields": ["provider", "slug", "full_url", "description", "active"]}),
        ("Verification", {"fields": ["secrets_state", "new_secret", "retire_old_secrets"]}),
        (
            "Options",
            {
                "fields": [
                    "tolerance_seconds",
                    "max_body_bytes",
                    "options",
                    "public_key",
                    "duplicate_body_window_hours",
                    "retention_days",
                ]
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _current_request.set(request)
        try:
            response = super().changeform_view(request, *args, **kwargs)
            # Render now, while the request is known (template responses render lazily).
            render = getattr(response, "render", None)
            if callable(render):
                render()
            return response
        finally:
            _current_request.reset(token)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _current_request.set(request)
        try:
            response = super().changelist_view(request, *args, **kwargs)
            # Render now, while the request is known (template responses render lazily).
            render = getattr(response, "render", None)
            if callable(render):
                render()
            return response
        finally:
            _current_request.reset(token)

    @admin.display(description="URL to paste into the provider's dashboard")
    def full_url(self, obj: WebhookEndpoint) -> str:
        if not obj.pk:
            return "(shown once saved)"
        return webhook_endpoint_url(endpoint=obj, base_url=_base_url())

    @admin.display(description="secrets")
    def secrets_state(self, obj: WebhookEndpoint) -> str:
        if not obj.pk:
            return "not set"
        active = obj.secrets.filter(active=True).count()
        return f"set ({active} active)" if active else "not set"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        new_secret = form.cleaned_data.get("new_secret")
        if new_secret:
            rotated = webhook_secret_add(
                endpoint=form.instance,
                value=new_secret,
                retire_others=bool(form.cleaned_data.get("retire_old_secrets")),
            )
            self.message_user(
                request,
                f"Secret added; {rotated.retired} older secret(s) retired.",
                messages.SUCCESS,
            )

    @admin.action(description="Send a test delivery (signed sample event)", permissions=["change"])
    def send_test_delivery(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> HttpResponse | None:
        base = conf.public_base_url() or request.build_absolute_uri("/").rstrip("/")

        def perform(endpoints: Sequence[WebhookEndpoint]) -> ActionOutcome:
            sent, details = 0, []
            for endpoint in endpoints:
                try:
                    result = webhook_endpoint_send_test(endpoint=endpoint, base_url=base)
                except (WebhookError, WebhookConfigurationError) as exc:
                    details.append(
                        (
                            messages.ERROR,
                            f"{endpoint.slug}: not sent ({type(exc).__name__}: {exc})",
                        )
                    )
                    continue
                sent += 1
                level = messages.SUCCESS if 200 <= result.status_code < 300 else messages.WARNING
                details.append(
                    (
                        level,
                        f"{endpoint.slug}: test event {result.event_id} answered "
                        f"{result.status_code}.",
                    )
                )
            return ActionOutcome(changed=sent, details=details)

        return confirmed_action(
            self,
            request,
            action="send_test_delivery",
            permission="change",
            title="Send a test delivery to these endpoints?",
            consequence=(
                "A signed sample event is posted to each endpoint's URL and stored in its "
                "event log like a real delivery (its handlers run)."
            ),
            rows=list(queryset),
            perform=perform,
            done="Sent {count} test delivery(ies).",
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(EventLogListMixin, GuardedActionsMixin, admin.ModelAdmin):
    list_display = [
        "event_id",
        "event_type",
        "subject",
        "endpoint",
        "provider_name",
        "status",
        "attempts",
        "received_at",
        "next_attempt_at",
    ]
    # Filters, search and pagination: `webhooks.event_admin` (nothing counts or scans the log).
    list_select_related = ["endpoint"]
    actions = ["replay", "mark_ignored", "confirm_sns_subscription"]
    _EVENT_FIELDS = [
        "endpoint",
        "event_id",
        "event_type",
        "subject",
        "status",
        "attempts",
        "received_at",
        "occurred_at",
        "next_attempt_at",
        "processed_at",
        "claimed_at",
        "locked_until",
        "last_error",
        "stored_headers",
        "pretty_payload",
    ]
    fields = tuple(_EVENT_FIELDS)
    readonly_fields = tuple(_EVENT_FIELDS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="provider", ordering="endpoint__provider")
    def provider_name(self, obj: WebhookEvent) -> str:
        return obj.endpoint.provider

    @admin.display(description="headers")
    def stored_headers(self, obj: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.headers, indent=2, sort_keys=True))

    @admin.display(description="payload")
    def pretty_payload(self, obj: WebhookEvent) -> str:
        display = obj.payload_display
        html = format_html('<pre style="white-space: pre-wrap">{}</pre>', display.text)
        if display.note:
            return format_html("<p><strong>{}</strong></p>{}", display.note, html)
        return html

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "replay")

    def has_ignore_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, self.model, "ignore")

    @admin.action(description="Replay (back to pending, attempts reset)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> HttpResponse | None:
        def perform(events: Sequence[WebhookEvent]) -> ActionOutcome:
            selected = [event.pk for event in events]
            count = webhook_event_replay(events=WebhookEvent.objects.filter(pk__in=selected))
            skipped = len(selected) - count
            note = f"({skipped} being processed right now were left alone)" if skipped > 0 else ""
            return ActionOutcome(changed=count, note=note)

        return confirmed_action(
            self,
            request,
            action="replay",
            permission="replay",
            title="Replay these events?",
            consequence=(
                "Each event goes back to pending with its attempts reset and is processed "
                "again: its handlers run a second time."
            ),
            rows=list(queryset),
            perform=perform,
            done="{count} event(s) queued for replay.",
        )

    @admin.action(description="Mark ignored", permissions=["ignore"])
    def mark_ignored(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent]
    ) -> HttpResponse | None:
        def perform(events: Sequence[WebhookEvent]) -> ActionOutcome:
            selected = [event.pk for event in events]
            count = webhook_event_mark_ignored(events=WebhookEvent.objects.filter(pk__in=selected))
            return ActionOutcome(changed=count)

        return confirmed_action(
            self,
            request,
            action="mark_ignored",
            permission="ignore",
            title="Mark these events ignored?",
            consequence="Each event is marked ignored: it will not be processed or retried.",
            rows=list(queryset),
            perform=perform,
            done="{count} event(s) marked ignored.",
        )

    @admin.action(description="Confirm SNS subscription (AWS SNS)", permissions=["replay"])
    def confirm_sns_subscription(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent]
    ) -> HttpResponse | None:
        """Visit the SubscribeURL of SNS SubscriptionConfirmation events (the endpoints whose
        `auto_confirm` is off); needs the replay permission."""
        from integrations.core.exceptions import IntegrationError
        from webhooks.providers.sns_subscriptions import (
            SnsSubscriptionError,
            aws_sns_subscription_confirm,
        )

        def perform(events: Sequence[WebhookEvent]) -> ActionOutcome:
            confirmed, details = 0, []
            for event in events:
                if event.event_type != "SubscriptionConfirmation":
                    details.append((messages.WARNING, f"{event.event_id}: not a confirmation."))
                    continue
                try:
                    aws_sns_subscription_confirm(event=event)
                except (SnsSubscriptionError, IntegrationError) as exc:
                    details.append((messages.ERROR, f"{event.event_id}: {type(exc).__name__}"))
                    continue
                confirmed += 1
            return ActionOutcome(changed=confirmed, details=details)

        return confirmed_action(
            self,
            request,
            action="confirm_sns_subscription",
            permission="replay",
            title="Confirm these SNS subscriptions?",
            consequence=(
                "Liaison visits each message's SubscribeURL at AWS: the endpoint starts "
                "receiving the topic's notifications."
            ),
            rows=list(queryset.filter(endpoint__provider="aws_sns")),
            perform=perform,
            done="{count} subscription(s) confirmed.",
        )


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VerificationFailure)
class VerificationFailureAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "endpoint", "reason", "detail", "remote_addr", "body_size"]
    list_filter = ["reason", "endpoint"]
    date_hierarchy = "created_at"
    list_select_related = ["endpoint"]


@admin.register(VerificationFailureCount)
class VerificationFailureCountAdmin(_ReadOnlyAdmin):
    list_display = ["hour", "endpoint", "reason", "count"]
    list_filter = ["reason", "endpoint"]
    date_hierarchy = "hour"
    list_select_related = ["endpoint"]
