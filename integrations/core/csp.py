"""Content-Security-Policy middleware: django-csp's, minus work for exempt responses.

django-csp 4 builds both policies for every response before it looks at `@csp_exempt()`.
The webhook receiver is exempt (its answers are JSON for machines, never rendered) and is the
hottest path of the project, where building the policy was a measurable share of a request;
this subclass returns exempt responses untouched instead.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        if getattr(response, "_csp_exempt", False) and not report_only:
            return response
        return super().process_response(request, response)
