"""Admin actions that change state: one permission rule and one confirmation flow.

Every Liaison action that changes anything declares `allowed_permissions` naming the model's
`change` permission or a custom one (`replay`, `refund`, …); Django then hides the action from
users without it. `GuardedActionsMixin` turns a crafted POST naming an action the user may
not run into a 403 instead of Django's quiet "No action selected". `has_model_permission` is
what the `has_<name>_permission` methods of the ModelAdmins call.

`confirmed_action` is the one confirmation flow: the first POST renders
`liaison_core/admin/confirm_action.html` listing the rows and what will happen; the second
(`confirmed=yes`, the same selection) checks the permission again server-side, runs the
action and reports how many rows it changed. Admin modules supply the rows, the sentence and
a `perform` callable that calls a service; nothing else is copied between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

CONFIRM_TEMPLATE = "liaison_core/admin/confirm_action.html"


class GuardedActionsMixin:
    """Mix into a ModelAdmin: POSTing an action the user lacks the permission for is a 403."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        name = request.POST.get("action") if request.method == "POST" else None
        if name:
            admin_self: Any = self
            declared = {action_name for _func, action_name, _d in admin_self._get_base_actions()}
            if name in declared and name not in admin_self.get_actions(request):
                raise PermissionDenied(f"The {name!r} action needs a permission you lack.")
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


def model_permission(model: type[Model] | Model, action: str) -> str:
    """`"<app_label>.<action>_<model_name>"`, e.g. `liaison_webhooks.replay_webhookevent`."""
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def has_model_permission(request: HttpRequest, model: type[Model] | Model, action: str) -> bool:
    """Whether the signed-in user holds `model_permission(model, action)` (superusers do)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.has_perm(model_permission(model, action)))


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did: rows changed, an optional note appended to the report (e.g. rows
    skipped because they are busy), the report's level, per-row errors (shown as errors) and
    per-row details (`(level, text)`, e.g. the status a test delivery was answered with)."""

    changed: int
    note: str = ""
    level: int = messages.SUCCESS
    errors: Sequence[str] = field(default_factory=tuple)
    details: Sequence[tuple[int, str]] = field(default_factory=tuple)


def rows_apply(
    rows: Sequence[Any],
    operation: Callable[[Any], object],
    *,
    label: Callable[[Any], str],
    errors: tuple[type[Exception], ...],
) -> ActionOutcome:
    """Run `operation` on each row; an expected error is reported for its row (by `label`)
    and the next row still runs, so one refused refund never hides the others."""
    changed, failed = 0, []
    for row in rows:
        try:
            operation(row)
        except errors as exc:
            failed.append(f"{label(row)}: {exc}")
            continue
        changed += 1
    return ActionOutcome(changed=changed, errors=failed)


def confirmed_action(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    action: str,
    permission: str,
    title: str,
    consequence: str,
    rows: Sequence[Any],
    perform: Callable[[Sequence[Any]], ActionOutcome],
    done: str,
    skipped: int = 0,
    extra: dict[str, Any] | None = None,
) -> HttpResponse | None:
    """Confirm, then run a state-changing bulk action (see the module docstring).

    `permission` is the action part of the permission (`"change"`, `"replay"`, …), checked
    against the ModelAdmin's model; without it the request is refused with 403 even if it
    reached this far. `done` is the report, with `{count}` for the rows changed
    ("Refunded {count} row(s)."); the outcome's note follows it.
    """
    if not has_model_permission(request, modeladmin.model, permission):
        raise PermissionDenied(f"{model_permission(modeladmin.model, permission)} is required.")
    if request.POST.get("confirmed") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "consequence": consequence,
            "opts": modeladmin.model._meta,
            "action": action,
            "rows": list(rows),
            "skipped": skipped,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            **(extra or {}),
        }
        return TemplateResponse(request, CONFIRM_TEMPLATE, context)
    outcome = perform(rows)
    for level, text in outcome.details:
        modeladmin.message_user(request, text, level)
    note = f" {outcome.note}" if outcome.note else ""
    modeladmin.message_user(request, done.format(count=outcome.changed) + note, outcome.level)
    for error in outcome.errors:
        modeladmin.message_user(request, error, messages.ERROR)
    return None
