"""A known secret never appears in log output or in exception text, str or repr."""

from __future__ import annotations

import io
import logging
import secrets
import traceback
from collections.abc import Iterator

import pytest
import requests
import responses

from integrations.core.exceptions import ClientError, TransportError
from integrations.core.redaction import (
    REDACTED,
    RedactingFilter,
    redact_mapping,
    redact_text,
    redact_url,
)
from integrations.outbound.http import ServiceClient
from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state

BASE = "https://oauth.acme.test"


@pytest.fixture
def secret() -> str:
    return "s3cr3t" + secrets.token_hex(12)


@pytest.fixture
def client(settings) -> Iterator[ServiceClient]:
    settings.INTEGRATIONS_SERVICES = {"acme": {"base_url": BASE, "retries": 1}}
    runtime = FakeRuntime()
    with isolated_state(redis_url=""), use_runtime(runtime.as_runtime()):
        yield ServiceClient("acme")


@pytest.fixture
def handler_output() -> Iterator[io.StringIO]:
    """A handler like the production console one: plain format + the redacting filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def everything_said(caplog, error: BaseException, stream: io.StringIO) -> str:
    logger = logging.getLogger("tests.redaction")
    try:
        raise error
    except type(error):
        logger.exception("call failed: %r", error)
    rendered = "".join(traceback.format_exception(error))
    return "\n".join([caplog.text, stream.getvalue(), str(error), repr(error), rendered])


def test_secrets_in_query_auth_header_and_body_never_reach_logs_or_errors(
    client, secret, caplog, handler_output
):
    caplog.set_level(logging.DEBUG)
    url = f"{BASE}/token?client_id=app&code={secret}&client_secret={secret}"
    with responses.RequestsMock() as mock:
        mock.post(
            f"{BASE}/token",
            status=400,
            json={"error": "invalid_grant", "refresh_token": secret},
        )
        with pytest.raises(ClientError) as info:
            client.post(
                url,
                headers={"Authorization": f"Bearer {secret}"},
                data={"refresh_token": secret, "password": secret},
                auth=("app", secret),
            )
    error = info.value
    assert error.payload == {"error": "invalid_grant", "refresh_token": REDACTED}
    assert "client_id=app" in error.url
    said = everything_said(caplog, error, handler_output)
    assert "integrations.outbound.http.attempt" in said
    assert secret not in said


def test_connection_error_messages_with_the_url_are_scrubbed(
    client, secret, caplog, handler_output
):
    caplog.set_level(logging.DEBUG)
    url = f"{BASE}/userinfo?access_token={secret}"
    library_message = (
        f"HTTPSConnectionPool(host='oauth.acme.test', port=443): Max retries exceeded with url: "
        f"/userinfo?access_token={secret} (Caused by NewConnectionError('refused'))"
    )
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/userinfo", body=requests.exceptions.ConnectionError(library_message))
        with pytest.raises(TransportError) as info:
            client.get(url)
    error = info.value
    assert isinstance(error.__cause__, requests.exceptions.ConnectionError)
    said = everything_said(caplog, error, handler_output)
    assert "Max retries exceeded" in said  # the cause is still there to debug with
    assert secret not in said


def test_filter_redacts_messages_arguments_extras_and_tracebacks(secret, handler_output):
    logger = logging.getLogger("tests.redaction.filter")
    logger.info("Authorization: Bearer %s", secret)
    logger.info("payload %s", {"client_secret": secret, "ok": 1})
    logger.info(
        "form code=%s&state=x", secret, extra={"api_key": secret, "note": f"token={secret}"}
    )
    try:
        raise ValueError(f"https://user:{secret}@host.test/path?token={secret}")
    except ValueError:
        logger.exception("boom")
    output = handler_output.getvalue()
    assert secret not in output
    assert output.count(REDACTED) >= 5
    assert "state=x" in output


@pytest.mark.parametrize(
    "text",
    [
        "sk_live_{t}",
        "sk_test_{t}",
        "whsec_{t}",
        "SG.{t}.{t}",
        "ghp_{t}{t}",
        "ya29.{t}",
        "Basic {t}",
        '{{"access_token": "{t}"}}',
        "{{'password': '{t}'}}",
        "X-Api-Key: {t}",
    ],
)
def test_known_credential_shapes_are_redacted(text):
    token = secrets.token_hex(16)
    assert token not in redact_text(text.format(t=token))


def test_redact_url_keeps_harmless_parameters():
    url = redact_url("https://h.test/cb?state=abc&code=XYZ123&scope=email")
    assert url == f"https://h.test/cb?state=abc&code={REDACTED}&scope=email"
    assert redact_mapping({"Authorization": "Bearer x", "Accept": "json"}) == {
        "Authorization": REDACTED,
        "Accept": "json",
    }
