"""The API's OpenAPI schema (drf-spectacular, `/api/schema/`) fuzzed with Schemathesis.

Every documented operation is called in-process through the WSGI application as a logged-in
staff user (a session cookie plus a CSRF token set on every request's WSGI environ, so unsafe
methods reach the view), with
parameters and bodies generated from the schema. Whatever is sent, the answer is never a 5xx.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import given, settings

from config.wsgi import application
from tests.api.conftest import STAFF_API_PERMISSIONS, grant
from tests.oauth_accounts.factories import make_account, make_user
from tests.webhooks.factories import make_endpoint, make_event

SCHEMA_PATH = "/api/schema/?format=json"


@pytest.fixture
def staff_environ(db: None, client: Any) -> dict[str, str]:
    staff = grant(make_user(is_staff=True), *STAFF_API_PERMISSIONS)
    client.force_login(staff)
    # Something behind the list and detail operations.
    make_event(endpoint=make_endpoint())
    make_account(user=staff)
    csrf = secrets.token_hex(16)  # a 32-character CSRF secret, sent as cookie and header
    return {
        "HTTP_COOKIE": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}",
        "HTTP_X_CSRFTOKEN": csrf,
    }


@pytest.fixture
def api_schema(staff_environ: dict[str, str]) -> Any:
    def as_staff(environ: dict[str, Any], start_response: Any) -> Any:
        # The test client would replace a Cookie header with its own jar: set the environ.
        environ.update(staff_environ)
        return application(environ, start_response)

    # As Django's test client does: keep the test's database connection (and its transaction)
    # open across the in-process requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(SCHEMA_PATH, as_staff)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_schema_documents_the_staff_api(api_schema):
    paths = set(api_schema.raw_schema["paths"])
    assert any(path.startswith("/api/staff/") for path in paths), paths


def test_no_operation_answers_5xx(api_schema):
    """Each operation's cases drawn from its schema strategy (Schemathesis' pytest loader
    does not run on pytest 9, so the operations are iterated here)."""
    called: list[str] = []
    statuses: set[int] = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        called.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(max_examples=60)
        def no_server_error(case: Any) -> None:
            response = case.call()
            statuses.add(response.status_code)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.text[:500],
            )

        no_server_error()
    assert len(called) >= 5, called
    assert 200 in statuses  # the staff session really reached the views
