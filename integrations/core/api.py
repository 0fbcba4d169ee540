"""Staff API: what every staff endpoint shares.

Every view under `/api/staff/` derives from `StaffAPIView` (or uses its `authentication_classes`
and `permission_classes`): Django session authentication (the admin's login; unsafe methods
need the CSRF token, as in the admin) and `is_staff` required. Anonymous requests get 403 and
non-staff users 403.

Why no API tokens: DRF's `rest_framework.authtoken` stores each key in plaintext and lists it
in the admin, which the design forbids for credentials ("never stored unencrypted, never shown
in the admin after saving").

Webhook, OAuth and health views live in their own apps and reuse these classes.
"""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView


class StaffAccess:
    """Authentication and permission of every staff endpoint (mix into any DRF view)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAdminUser]


class StaffAPIView(StaffAccess, APIView):
    """A staff-only APIView."""


class StaffPagination(PageNumberPagination):
    """`?page=N&page_size=M` (50 by default, at most 500), with count/next/previous."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
