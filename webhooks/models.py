"""The webhook event log and its endpoints.

- `WebhookEndpoint`: one URL (`/webhooks/<slug>/`) for one provider, with its verification
  settings. Secrets live in `WebhookSecret` (encrypted, several may be active at once so a
  rotation never drops a delivery).
- `WebhookEvent`: one stored event, the raw bytes exactly as received, plus its processing
  state (`pending → processing → processed | ignored | failed → … → dead`).
- Permissions beyond Django's four: `liaison_webhooks.replay_webhookevent` (replay, in the
  admin and the staff API) and `liaison_webhooks.ignore_webhookevent` (mark ignored). Sending
  a test delivery and adding secrets need `liaison_webhooks.change_webhookendpoint`.
- `VerificationFailure` (the last few, bounded per endpoint) and `VerificationFailureCount`
  (one counter row per endpoint, hour and reason): rejected deliveries, for debugging and
  monitoring, never unbounded.
- `WebhookEventType`, `WebhookEventTally`, `WebhookEventHourly`: small tables the staff reads
  use instead of scanning the log (see `webhooks.counters`): the event types seen per
  endpoint, current per-status counts and monotonic totals, hourly rollups;
  `WebhookEventArrival` is their intake journal for newly stored events on PostgreSQL.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse

from integrations.core.fields import EncryptedTextField
from webhooks.exceptions import EndpointSettingInvalid, UnknownProvider, WebhookConfigurationError
from webhooks.providers import get_provider, provider_choices
from webhooks.providers.base import EndpointSecrets

ONE_MIB = 1024 * 1024
# The longest duplicate-body window (30 days): the lookup is indexed, but a window is a promise
# about how long a body hash keeps a replay out, and longer promises hide handler bugs.
MAX_DUPLICATE_BODY_WINDOW_HOURS = 24 * 30


class WebhookEndpoint(models.Model):
    # A callable: adding a provider to the registry needs no migration.
    provider = models.CharField(max_length=32, choices=provider_choices)
    slug = models.SlugField(
        max_length=100, unique=True, help_text="The URL is /webhooks/<slug>/ on this site."
    )
    description = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(
        default=True, help_text="Inactive endpoints answer 404 and store nothing."
    )
    tolerance_seconds = models.PositiveIntegerField(
        default=300, help_text="Maximum age (and clock skew) of a signed timestamp."
    )
    max_body_bytes = models.PositiveIntegerField(
        default=ONE_MIB, help_text="Larger deliveries are refused with 413 before being read."
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Provider options (never secrets), e.g. for the generic hmac provider: "
            '{"header": "X-Signature", "algorithm": "sha256", "encoding": "hex", '
            '"prefix": "sha256="}.'
        ),
    )
    public_key = models.TextField(
        blank=True, help_text="The provider's public key (PEM or base64 DER), e.g. SendGrid's."
    )
    duplicate_body_window_hours = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_DUPLICATE_BODY_WINDOW_HOURS)],
        help_text=(
            "0 = off. When set, a delivery whose stored body is byte-identical to one received "
            "in the last N hours is acknowledged (2xx) and stored once, whatever its delivery "
            "id. For providers whose signature covers no timestamp or id (GitHub, Shopify, "
            "Twilio), where captured bytes can be replayed under a new id; new endpoints of "
            "those providers default to 24."
        ),
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Days processed and ignored events are kept; empty = WEBHOOKS_RETENTION_DAYS "
            "(0 keeps them forever)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.slug} ({self.provider})"

    def stage_secret(self, value: str, *, retire_others: bool = False) -> None:
        """Have `clean()` check `value` as a secret about to be added (the admin form's new
        secret, the command's `--secret`); with `retire_others` the stored ones are not checked.
        """
        self._staged_secrets = (value,)
        self._retire_stored_secrets = retire_others

    def clean(self) -> None:
        """Refuse settings the provider cannot work with, naming the field (`options`,
        `public_key`, `secret`); see `WebhookProvider.check_settings`. Missing material (no
        secret or key yet) is accepted: the endpoint answers 503 until it has some."""
        super().clean()
        self.clean_settings()

    def clean_settings(self) -> None:
        try:
            provider = get_provider(self.provider)
        except UnknownProvider:
            return  # the `provider` field's choices already report it
        if not isinstance(self.options, dict):
            raise ValidationError({"options": "The options must be a JSON object."})
        try:
            provider.check_settings(
                EndpointSecrets(
                    secrets=self._secrets_to_check(),
                    public_key=self.public_key,
                    tolerance_seconds=self.tolerance_seconds,
                    options=self.options,
                )
            )
        except EndpointSettingInvalid as exc:
            raise ValidationError({exc.field: str(exc)}) from exc
        except WebhookConfigurationError as exc:
            raise ValidationError({"options": str(exc)}) from exc

    def _secrets_to_check(self) -> tuple[str, ...]:
        staged: tuple[str, ...] = getattr(self, "_staged_secrets", ())
        if self.pk is None or getattr(self, "_retire_stored_secrets", False):
            return staged
        stored = tuple(self.secrets.filter(active=True).values_list("value", flat=True))
        return staged + stored

    @property
    def loaded_slug(self) -> str | None:
        """The slug stored before this save (set by a pre_save signal), to free a renamed URL."""
        return getattr(self, "_previous_slug", None)

    @property
    def path(self) -> str:
        return reverse("liaison_webhooks:receive", kwargs={"slug": self.slug})


class WebhookSecret(models.Model):
    """A verification secret. Any active one verifies; the newest signs test deliveries."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    value = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # Never the value.
        state = "active" if self.active else "retired"
        return f"secret #{self.pk} of {self.endpoint_id} ({state})"


class WebhookEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        PROCESSING = "processing", "processing"
        PROCESSED = "processed", "processed"
        IGNORED = "ignored", "ignored"
        FAILED = "failed", "failed"
        DEAD = "dead", "dead"

    # No index of its own: the unique (endpoint, event_id) constraint leads with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=255, blank=True)
    # The id of the object the event is about (`pi_…`, a SendGrid message id, `owner/repo`),
    # from `WebhookProvider.event_subject` at ingest; "" when the provider names none.
    subject = models.CharField(max_length=255, blank=True, default="")
    # The raw bytes of this event exactly as received (verified signatures cover them).
    body = models.BinaryField()
    # Non-sensitive headers (the provider's `stored_headers` plus content-type), lower-case.
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the event is due (pending: when it was queued; failed: the next retry).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set when a worker claims the event; past `locked_until` a `processing` event is stuck.
    claimed_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # When the event was last handed to the broker (a wake-up for a worker); the dispatcher
    # leaves an event whose message is still in flight alone instead of publishing it again.
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Only when the endpoint has a duplicate-body window: "<sha256 of body>:<window>:<bucket>"
    # (see `webhooks.services.ingest`). NULL otherwise (the hot INSERT leaves it out), so other
    # rows skip its partial index.
    body_key = models.CharField(  # noqa: DJ001 - NULL is "no window", not an empty key
        max_length=100, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # Leads with the event id, so the same index serves search by event id across
            # endpoints (one index fewer for every insert on the hot path).
            models.UniqueConstraint(
                fields=["event_id", "endpoint"], name="liaison_wh_event_unique_id"
            ),
            # Duplicate-body window: one row per body and window bucket (concurrent replays
            # conflict here); also the index of the window's NOT EXISTS lookup.
            models.UniqueConstraint(
                fields=["endpoint", "body_key"],
                name="liaison_wh_event_body_once",
                condition=models.Q(body_key__isnull=False),
            ),
        ]
        permissions = [
            ("replay_webhookevent", "Can replay webhook events"),
            ("ignore_webhookevent", "Can mark webhook events ignored"),
        ]
        # Every index costs each insert on the hot path, so they are few and partial where
        # the query only looks at some statuses (a new `pending` row skips the last two).
        indexes = [
            # The dispatcher: due failed and stale pending events.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="liaison_wh_event_due",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            # The dispatcher: `processing` events whose lease expired.
            models.Index(
                fields=["locked_until"],
                name="liaison_wh_event_lease",
                condition=models.Q(status="processing"),
            ),
            # The admin's default ordering and date filter; pruning.
            models.Index(fields=["received_at"], name="liaison_wh_event_received"),
            # The admin's status filter for the rarer finished statuses (`processed` is most
            # rows: the received_at index serves it; pending/processing: the two above).
            models.Index(
                fields=["status", "received_at"],
                name="liaison_wh_event_status_recv",
                condition=models.Q(status__in=["failed", "dead", "ignored"]),
            ),
            # The event type filter.
            models.Index(fields=["event_type", "received_at"], name="liaison_wh_event_type_recv"),
            # Search by subject; rows without one stay out of the index.
            models.Index(
                fields=["subject", "received_at"],
                name="liaison_wh_event_subject",
                condition=~models.Q(subject=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.event_type or 'untyped'})"

    @property
    def provider(self) -> str:
        return self.endpoint.provider

    @property
    def raw_body(self) -> bytes:
        return bytes(self.body)

    @cached_property
    def _parsed_body(self) -> ParsedBody:
        content_type = self._content_type
        if content_type.startswith(FORM_CONTENT_TYPE):
            # Form bodies are the provider's to read: GitHub and Slack wrap their JSON in a
            # `payload` field, Twilio's fields are the payload. Re-encoded as JSON, the result
            # goes through the same cleaning as every other body.
            stored = self._provider_payload(content_type)
            if stored is not None:
                return event_body_parse_full(json.dumps(stored).encode())
        return event_body_parse_full(self.raw_body, content_type=content_type)

    def _provider_payload(self, content_type: str) -> Any:
        from webhooks.exceptions import WebhookError
        from webhooks.providers import get_provider

        try:
            return get_provider(self.provider).stored_payload(
                self.raw_body, {"content-type": content_type}
            )
        except (WebhookError, ValueError):  # not the provider's shape: read the form as such
            return None

    @property
    def payload(self) -> Any:
        """The stored body parsed (`event_body_parse`): what handlers and every reader see."""
        return self._parsed_body.value

    @cached_property
    def payload_display(self) -> PayloadDisplay:
        """The payload for people (admin, staff API): never raises, whatever the body holds."""
        return payload_display(self._parsed_body, raw=self.raw_body)

    @property
    def _content_type(self) -> str:
        return str((self.headers or {}).get("content-type", ""))


# --- parsing stored bodies -------------------------------------------------------------------
#
# The stored bytes are never changed (signatures cover them); what is parsed from them is made
# into text every database and encoder accepts, once, here, so handlers, the admin and the API
# agree and PostgreSQL never sees NUL (text and jsonb refuse it) or a lone surrogate (not
# encodable as UTF-8).

# Any surrogate left in a parsed str is unpaired: `json.loads` joins escaped pairs into one
# code point, and decoding UTF-8 never yields surrogates.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Deeper payloads are shown as their stored text: the standard encoders recurse per level, and
# no provider nests anywhere near this deep.
MAX_DISPLAY_DEPTH = 100
PAYLOAD_NOT_DISPLAYABLE = (
    "This payload cannot be displayed as JSON (it is nested too deeply); "
    "the stored text is shown instead."
)


def database_safe_text(text: str) -> str:
    """`text` without NUL characters, unpaired surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE_RE.sub("\ufffd", text)


def _json_constant(literal: str) -> str:
    # NaN, Infinity, -Infinity: not JSON (RFC 8259); kept as their text, so what is parsed
    # can be stored (jsonb refuses them) and rendered as valid JSON.
    return literal


def _json_float(literal: str) -> float | str:
    value = float(literal)
    return value if math.isfinite(value) else literal  # 1e400: out of range, kept as text


def _clean_strings(value: Any) -> Any:
    """`value` with `database_safe_text` applied to every string and key, without recursion
    (a deeply nested body must not raise RecursionError here)."""
    if isinstance(value, str):
        return database_safe_text(value)
    root = [value]
    stack: list[list[Any] | dict[str, Any]] = [root]
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            items = [(database_safe_text(k), v) for k, v in container.items()]
            container.clear()
            container.update(items)
            for key, item in items:
                if isinstance(item, str):
                    container[key] = database_safe_text(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
        else:
            for index, item in enumerate(container):
                if isinstance(item, str):
                    container[index] = database_safe_text(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
    return root[0]


@dataclass(frozen=True)
class ParsedBody:
    value: Any
    # JSON nested deeper than the interpreter can parse here (`value` is then the text).
    too_deep: bool = False


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def event_body_parse(raw: bytes, *, content_type: str = "") -> Any:
    """A stored body parsed: JSON, or a dict of form fields (Twilio); the text else.

    Total (never raises). Every string in the result is `database_safe_text`; numbers JSON
    cannot hold (NaN, Infinity, 1e400) are their literal text; a body Python cannot parse
    (not JSON, or nested past the interpreter's recursion limit) is returned as its text.
    """
    return event_body_parse_full(raw, content_type=content_type).value


def event_body_parse_full(raw: bytes, *, content_type: str = "") -> ParsedBody:
    """`event_body_parse`, also saying whether the body was too deep to parse."""
    text = raw.decode("utf-8", errors="replace")
    if content_type.startswith(FORM_CONTENT_TYPE):
        fields = parse_qsl(text, keep_blank_values=True)
        return ParsedBody({database_safe_text(k): database_safe_text(v) for k, v in fields})
    try:
        parsed = json.loads(text, parse_constant=_json_constant, parse_float=_json_float)
    except ValueError:
        return ParsedBody(database_safe_text(text))
    except RecursionError:
        return ParsedBody(database_safe_text(text), too_deep=True)
    # A NUL or a surrogate can only come from a \u escape: most bodies skip the walk.
    return ParsedBody(_clean_strings(parsed) if "\\u" in text else parsed)


@dataclass(frozen=True)
class PayloadDisplay:
    """A payload as the admin and the staff API show it.

    `data`: the parsed payload (JSON-serialisable), or the stored text when it cannot be shown
    as JSON; `text`: indented, key-sorted JSON, or the stored text; `note`: why the stored text
    is shown instead ("" when it is not).
    """

    data: Any
    text: str
    note: str = ""


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def payload_display(parsed: ParsedBody, *, raw: bytes) -> PayloadDisplay:
    """A parsed body (`event_body_parse_full`) for display; never raises."""
    payload = parsed.value
    if isinstance(payload, str):
        note = PAYLOAD_NOT_DISPLAYABLE if parsed.too_deep else ""
        return PayloadDisplay(data=payload, text=payload, note=note)
    stored_text = database_safe_text(raw.decode("utf-8", errors="replace"))
    if _depth_exceeds(payload, MAX_DISPLAY_DEPTH):
        return PayloadDisplay(data=stored_text, text=stored_text, note=PAYLOAD_NOT_DISPLAYABLE)
    try:
        text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        # Not expected for parsed JSON; the display still never raises.
        return PayloadDisplay(data=stored_text, text=stored_text, note=PAYLOAD_NOT_DISPLAYABLE)
    return PayloadDisplay(data=payload, text=text)


class VerificationFailure(models.Model):
    """One recent rejected delivery (the last N per endpoint are kept; see conf)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="verification_failures"
    )
    reason = models.CharField(max_length=64)
    detail = models.CharField(max_length=255, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    body_size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "-id"], name="liaison_wh_vfail_recent")]

    def __str__(self) -> str:
        return f"{self.reason} on {self.endpoint_id}"


class VerificationFailureCount(models.Model):
    """Rejected deliveries per endpoint, hour and reason (one upserted row each)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="verification_failure_counts"
    )
    hour = models.DateTimeField()
    reason = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "endpoint_id", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "hour", "reason"], name="liaison_wh_vfail_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} x {self.reason} on {self.endpoint_id} at {self.hour:%Y-%m-%d %H}h"


class WebhookEventType(models.Model):
    """An event type seen on an endpoint: the admin's type filter reads this, not the log.

    Kept by the counting trigger on the event table (`webhooks.counters`): every insert adds
    its (endpoint, type) pair if new, inside the same statement.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="event_types"
    )
    event_type = models.CharField(max_length=255)
    first_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["event_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_type"], name="liaison_wh_event_type_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} on {self.endpoint_id}"


class WebhookEventTally(models.Model):
    """Counters per endpoint, kept by database triggers on the event table (every writer
    counts, whatever code path or raw SQL changes a row).

    `name` is `status:<status>` (events in that status now: +1 on entering, -1 on leaving or
    deletion), or a monotonic total: `received`, `outcome:<status>` (each time an event
    enters processed/ignored/failed/dead), `duration_us`/`duration_count`/`duration_le:<s>`
    (claim → outcome time), `duplicate`, `rejected:<reason>`. `shard` spreads concurrent
    writers over a few rows (a random one of `counters.SHARDS` per statement); readers sum
    them.
    No foreign key: triggers write it, and it outlives nothing it describes.
    """

    endpoint_id = models.IntegerField()
    name = models.CharField(max_length=80)
    shard = models.SmallIntegerField(default=0)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint_id", "name", "shard"], name="liaison_wh_tally_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} on {self.endpoint_id}"


class WebhookEventHourly(models.Model):
    """Hourly rollups per endpoint (same trigger): `received` by the hour received,
    `outcome:<status>`, `duration_us`, `duration_count` by the hour of the outcome."""

    endpoint_id = models.IntegerField()
    hour = models.DateTimeField()
    name = models.CharField(max_length=80)
    shard = models.SmallIntegerField(default=0)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint_id", "hour", "name", "shard"], name="liaison_wh_hourly_unique"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="liaison_wh_hourly_hour")]

    def __str__(self) -> str:
        return f"{self.name}={self.value} on {self.endpoint_id} at {self.hour:%Y-%m-%d %H}h"


class WebhookEventArrival(models.Model):
    """A stored `pending` event not yet counted (PostgreSQL): the journal that keeps counting
    off the receive view's INSERT.

    A row-level trigger adds one narrow row per pending insert (no upsert, no index but the
    key); `counters.arrivals_fold()` (after each processing batch, in each dispatcher
    pass) moves them into `received`, `status:pending`, the hourly `received` and the
    event types in one statement, exactly once: it deletes only rows its transaction sees
    committed, so a concurrent insert is folded by the next run. Readers add what is still
    here. No foreign key, like the tallies.
    """

    endpoint_id = models.BigIntegerField()
    event_type = models.CharField(max_length=255)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.event_type} on {self.endpoint_id} at {self.received_at:%Y-%m-%d %H:%M}"
