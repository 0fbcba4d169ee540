"""Staff API of the webhook event log: events (list, detail, replay), endpoints, counts.

Thin views over `webhooks.selectors` and `webhooks.services`, staff only (see
`integrations.core.api`) with the admin's permissions: reading events needs
`liaison_webhooks.view_webhookevent`, replaying `liaison_webhooks.replay_webhookevent` (as the
admin action), reading endpoints `liaison_webhooks.view_webhookendpoint`. Secrets are never
serialised: an endpoint says whether it has an active secret and how many, never a value.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.core.api import StaffAccess, StaffAPIView, StaffPagination
from webhooks.event_admin import EventLogPaginator
from webhooks.models import WebhookEndpoint, WebhookEvent, WebhookSecret
from webhooks.providers import provider_choices
from webhooks.selectors import webhook_endpoint_list, webhook_endpoint_url, webhook_event_list
from webhooks.services import webhook_event_replay

Status = WebhookEvent.Status
VIEW_EVENTS = "liaison_webhooks.view_webhookevent"


class WebhookEventFilterSerializer(serializers.Serializer):
    """The admin's event filters as query parameters (all optional, combined with AND)."""

    endpoint = serializers.SlugField(required=False, help_text="Endpoint slug.")
    provider = serializers.ChoiceField(choices=[], required=False)
    event_type = serializers.CharField(required=False, max_length=255)
    event_id = serializers.CharField(
        required=False, max_length=255, help_text="The provider's event id (exact)."
    )
    subject = serializers.CharField(
        required=False,
        max_length=255,
        help_text=(
            "The object the event is about (exact): a Stripe object id (`pi_…`, `cus_…`, "
            "`sub_…`, `in_…`), a SendGrid message id, a GitHub `owner/repo`."
        ),
    )
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    received_since = serializers.DateTimeField(
        required=False, help_text="Received at or after (ISO 8601)."
    )
    received_until = serializers.DateTimeField(
        required=False, help_text="Received before (ISO 8601)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read at call time: the provider registry is the source of truth.
        self.fields["provider"].choices = provider_choices()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("received_since"), attrs.get("received_until")
        if since is not None and until is not None and until <= since:
            raise serializers.ValidationError(
                {"received_until": "must be later than received_since"}
            )
        return attrs


def webhook_events_filtered(*, filters: dict[str, Any]) -> QuerySet[WebhookEvent]:
    """`webhook_event_list` with the filters it lacks (provider, until) applied on top."""
    events = webhook_event_list(
        slug=filters.get("endpoint"),
        status=filters.get("status"),
        event_type=filters.get("event_type"),
        since=filters.get("received_since"),
    )
    if filters.get("provider"):
        events = events.filter(endpoint__provider=filters["provider"])
    if filters.get("event_id"):
        events = events.filter(event_id=filters["event_id"])
    if filters.get("subject"):
        events = events.filter(subject=filters["subject"])
    if filters.get("received_until") is not None:
        events = events.filter(received_at__lt=filters["received_until"])
    return events


class WebhookEventSerializer(serializers.ModelSerializer):
    endpoint = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    provider = serializers.CharField(source="endpoint.provider", read_only=True)

    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "event_id",
            "event_type",
            "subject",
            "endpoint",
            "provider",
            "status",
            "attempts",
            "received_at",
            "occurred_at",
            "next_attempt_at",
            "processed_at",
            "last_error",
        ]
        read_only_fields = fields


class WebhookEventDetailSerializer(WebhookEventSerializer):
    headers = serializers.JSONField(read_only=True)
    payload = serializers.SerializerMethodField(
        help_text="The stored body parsed (JSON, form fields as an object, else the raw text)."
    )
    pretty_payload = serializers.SerializerMethodField(
        help_text="The payload as indented, key-sorted JSON text (as the admin shows it)."
    )
    payload_note = serializers.SerializerMethodField(
        help_text=(
            "Why `payload` and `pretty_payload` hold the stored text instead of parsed JSON "
            "(nested too deeply to display); empty otherwise."
        )
    )

    class Meta(WebhookEventSerializer.Meta):
        fields = [
            *WebhookEventSerializer.Meta.fields,
            "claimed_at",
            "locked_until",
            "headers",
            "payload",
            "pretty_payload",
            "payload_note",
        ]
        read_only_fields = fields

    def get_payload(self, event: WebhookEvent) -> Any:
        return event.payload_display.data

    def get_pretty_payload(self, event: WebhookEvent) -> str:
        return event.payload_display.text

    def get_payload_note(self, event: WebhookEvent) -> str:
        return event.payload_display.note


class EventLogPagination(StaffPagination):
    """Pages of the event log without `COUNT(*)`: `count` is what this page and a few after
    it hold (at least; `webhooks.event_admin.EventLogPaginator`), so a page costs the same
    at ten million events."""

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        try:
            number = int(request.query_params.get(self.page_query_param, 1))
        except (TypeError, ValueError):
            number = 1
        self.django_paginator_class = partial(EventLogPaginator, page_number=number, filtered=True)
        return super().paginate_queryset(queryset, request, view)


@extend_schema(parameters=[WebhookEventFilterSerializer])
class WebhookEventListView(StaffAccess, generics.ListAPIView):
    """GET /api/staff/webhooks/events/: newest first, filtered like the admin's event list."""

    serializer_class = WebhookEventSerializer
    pagination_class = EventLogPagination
    read_permissions = (VIEW_EVENTS,)

    def get_queryset(self) -> QuerySet[WebhookEvent]:
        filters = WebhookEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return webhook_events_filtered(filters=filters.validated_data)


class WebhookEventDetailView(StaffAccess, generics.RetrieveAPIView):
    """GET /api/staff/webhooks/events/<id>/: one event with its headers and payload."""

    serializer_class = WebhookEventDetailSerializer
    read_permissions = (VIEW_EVENTS,)

    def get_queryset(self) -> QuerySet[WebhookEvent]:
        return webhook_event_list()


class WebhookEventReplayView(StaffAPIView):
    """POST /api/staff/webhooks/events/<id>/replay/: back to `pending`, attempts reset, queued.

    409 when the event is being processed right now (its lease has not expired).
    """

    write_permissions = ("liaison_webhooks.replay_webhookevent",)

    @extend_schema(
        operation_id="staff_webhooks_events_replay",
        request=None,
        responses={
            200: inline_serializer(
                "WebhookEventReplayed",
                {"replayed": serializers.IntegerField(), "event": WebhookEventSerializer()},
            ),
            409: inline_serializer(
                "WebhookEventReplayRefused",
                {"replayed": serializers.IntegerField(), "detail": serializers.CharField()},
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(WebhookEvent, pk=pk)
        replayed = webhook_event_replay(events=WebhookEvent.objects.filter(pk=pk))
        if not replayed:
            return Response(
                {"replayed": 0, "detail": "The event is being processed right now."},
                status=status.HTTP_409_CONFLICT,
            )
        # Read back: with eager tasks the replay may already have been processed.
        event = webhook_event_list(ids=[pk]).get()
        return Response({"replayed": replayed, "event": WebhookEventSerializer(event).data})


class WebhookEndpointSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The URL to give the provider.")
    secret_set = serializers.BooleanField(
        read_only=True, help_text="Whether an active verification secret exists (never a value)."
    )
    active_secrets = serializers.IntegerField(read_only=True)
    options = serializers.SerializerMethodField(
        help_text='Provider options; key material (e.g. SendGrid\'s test private key) as "set".'
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "slug",
            "provider",
            "description",
            "active",
            "url",
            "secret_set",
            "active_secrets",
            "tolerance_seconds",
            "max_body_bytes",
            "options",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_options(self, endpoint: WebhookEndpoint) -> dict[str, Any]:
        return {
            name: "set" if _is_key_material(name) else value
            for name, value in (endpoint.options or {}).items()
        }

    def get_url(self, endpoint: WebhookEndpoint) -> str:
        request = self.context.get("request")
        base = request.build_absolute_uri("/").rstrip("/") if request is not None else None
        return webhook_endpoint_url(endpoint=endpoint, base_url=base)


def _is_key_material(option: str) -> bool:
    """Options that hold keys or secrets (`test_private_key`): never served."""
    name = option.lower()
    return name.endswith(("_key", "_secret")) or "private" in name


def webhook_endpoints_with_secret_state() -> QuerySet[WebhookEndpoint]:
    """Endpoints annotated with `secret_set` and `active_secrets` (no secret is loaded)."""
    active = WebhookSecret.objects.filter(endpoint=OuterRef("pk"), active=True)
    return webhook_endpoint_list().annotate(
        secret_set=Exists(active),
        active_secrets=Count("secrets", filter=Q(secrets__active=True)),
    )


class WebhookEndpointListView(StaffAccess, generics.ListAPIView):
    """GET /api/staff/webhooks/endpoints/: every endpoint, its URL and secret state."""

    serializer_class = WebhookEndpointSerializer
    pagination_class = StaffPagination
    read_permissions = ("liaison_webhooks.view_webhookendpoint",)

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return webhook_endpoints_with_secret_state()


def webhook_event_counts() -> dict[str, dict[str, int]]:
    """{endpoint slug: {status: count}} (from the counters; see `webhooks.health`)."""
    from webhooks.health import webhook_event_counts as counts

    return counts()
