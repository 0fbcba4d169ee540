"""Staff API: what every staff endpoint shares.

Every view under `/api/staff/` derives from `StaffAPIView` (or mixes in `StaffAccess`): Django
session authentication (the admin's login; unsafe methods need the CSRF token, as in the
admin), `is_staff`, and the Django model permissions the view declares — the ones the admin
asks for the same data: `read_permissions` for GET/HEAD/OPTIONS (e.g.
`liaison_webhooks.view_webhookevent`, `liaison_ops.view_health`), `write_permissions` for
anything else (e.g. `liaison_webhooks.replay_webhookevent`). A view that declares none refuses
everyone: a staff user with no permissions reads nothing. Anonymous requests, non-staff users
and staff without the permission all get 403.

Why no API tokens: DRF's `rest_framework.authtoken` stores each key in plaintext and lists it
in the admin, which the design forbids for credentials ("never stored unencrypted, never shown
in the admin after saving").

Webhook, OAuth and health views live in their own apps and reuse these classes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class StaffModelPermissions(BasePermission):
    """`is_staff` and every permission the view names for the request's method.

    Unlike DRF's `DjangoModelPermissions`, reads need the `view_*` permission, the model comes
    from the view's declaration (not from running its queryset before the check), and a view
    without a declaration is refused.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        needed: tuple[str, ...] = (
            getattr(view, "read_permissions", ())
            if request.method in SAFE_METHODS
            else getattr(view, "write_permissions", ())
        )
        return bool(needed) and user.has_perms(needed)


class StaffAccess:
    """Authentication and permission of every staff endpoint (mix into any DRF view).

    Subclasses name the Django permissions (`"<app_label>.<codename>"`) a read and a write
    need; both default to none, which refuses the method.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [StaffModelPermissions]
    read_permissions: ClassVar[tuple[str, ...]] = ()
    write_permissions: ClassVar[tuple[str, ...]] = ()


class StaffAPIView(StaffAccess, APIView):
    """A staff-only APIView."""


class StaffPagination(PageNumberPagination):
    """`?page=N&page_size=M` (50 by default, at most 500), with count/next/previous."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
