"""Property-based tests of the OAuth connect flow's user-controlled parameters.

`state`, `code`, `error`, `error_description` and `next` come from the browser (anyone can
craft the callback URL). Whatever they hold:

- the answer is a rendered page or a redirect, never a crash (no 500); a 5xx page is only
  allowed when the callback itself claims the provider reported a misconfiguration (the flow
  shows "not set up correctly" with 502 by design — see `oauth_accounts/failures.py`);
- a redirect never leaves the site (no scheme, no host, no `//` or `/\\` tricks, even after a
  browser drops tabs and newlines);
- no connection is stored unless the real state came back with a code the provider accepted.

GitHub's token endpoint is mocked with `responses` at the provider boundary: one code is
accepted, every other gets GitHub's `bad_verification_code` answer.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from integrations.outbound.resilience import use_runtime
from integrations.outbound.resilience.testing import FakeRuntime, isolated_state
from oauth_accounts.failures import MISCONFIGURATION_CODES
from oauth_accounts.models import ConnectedAccount
from tests.oauth_accounts.conftest import GITHUB_EMAILS_URL, GITHUB_TOKEN_URL, GITHUB_USER_URL
from tests.oauth_accounts.factories import make_user

pytestmark = pytest.mark.django_db

GOOD_CODE = "good-code"
COMPLETE = "/oauth/complete/github/"

param_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.sampled_from(["", "access_denied", "invalid_client", "redirect_uri_mismatch", "%00"]),
)
next_values = st.one_of(
    param_text,
    st.sampled_from(
        [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "https://evil.example/",
            "http:evil.example",
            "javascript:alert(1)",
            "\\\\evil.example",
            "/%2F%2Fevil.example",
            "/connections/",
            "/connections/?a=b#c",
            " //evil.example",
            "/\x00/evil.example",
        ]
    ),
    st.builds(lambda a, b: f"/{a}/{b}", param_text, param_text),
)


@pytest.fixture
def github(settings: Any) -> Iterator[responses.RequestsMock]:
    settings.OAUTH_GITHUB_CLIENT_ID = "github-client-fuzz"
    settings.OAUTH_GITHUB_CLIENT_SECRET = f"fake-secret-{secrets.token_hex(8)}"
    settings.OAUTH_LOGIN_WITH_PROVIDER = False
    with (
        isolated_state(),
        use_runtime(FakeRuntime().as_runtime()),
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
    ):

        def token(request: Any) -> tuple[int, dict[str, str], str]:
            code = parse_qs(request.body or "").get("code", [""])[0]
            if code == GOOD_CODE:
                body: dict[str, Any] = {
                    "access_token": f"ghu_fake_{secrets.token_hex(8)}",
                    "token_type": "bearer",
                    "scope": "read:user,user:email",
                }
            else:
                body = {
                    "error": "bad_verification_code",
                    "error_description": "The code passed is incorrect or expired.",
                }
            return 200, {"Content-Type": "application/json"}, json.dumps(body)

        mock.add_callback(responses.POST, GITHUB_TOKEN_URL, callback=token)
        mock.get(GITHUB_USER_URL, json={"id": 777, "login": "fuzz", "name": "Fuzz"})
        mock.get(
            GITHUB_EMAILS_URL,
            json=[{"email": "fuzz@example.com", "primary": True, "verified": True}],
        )
        yield mock


@pytest.fixture
def user_client(client: Any, db: None) -> Any:
    client.force_login(make_user())
    return client


def is_local(location: str) -> bool:
    cleaned = "".join(ch for ch in location if ch not in "\t\r\n")
    parts = urlsplit(cleaned)
    return (
        cleaned.startswith("/")
        and not cleaned.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
    )


def assert_safe_answer(response: Any, *, error: str | None) -> None:
    status = response.status_code
    assert status != 500
    if status >= 500:
        assert error in MISCONFIGURATION_CODES, (status, error)
        assert status == 502
    if 300 <= status < 400:
        assert is_local(response["Location"]), response["Location"]


@given(
    state=st.none() | param_text,
    code=st.none() | param_text,
    error=st.none() | param_text,
    description=st.none() | param_text,
    next_url=st.none() | next_values,
)
def test_forged_callbacks_never_crash_redirect_away_or_connect(
    user_client, github, state, code, error, description, next_url
):
    query = {
        name: value
        for name, value in {
            "state": state,
            "code": code,
            "error": error,
            "error_description": description,
            "next": next_url,
        }.items()
        if value is not None
    }

    response = user_client.get(COMPLETE, query)

    assert_safe_answer(response, error=error)
    assert not ConnectedAccount.objects.exists()


@given(
    next_url=st.none() | next_values,
    code=st.one_of(st.just(GOOD_CODE), param_text),
    callback_next=st.none() | next_values,
    error=st.none() | param_text,
)
def test_a_started_flow_redirects_only_to_local_paths(
    user_client, github, next_url, code, callback_next, error
):
    ConnectedAccount.objects.all().delete()  # examples share the database
    data = {"next": next_url} if next_url is not None else {}
    started = user_client.post("/oauth/login/github/", data)
    assert started.status_code == 302
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    query = {"state": state, "code": code}
    if callback_next is not None:
        query["next"] = callback_next
    if error is not None:
        query["error"] = error

    response = user_client.get(COMPLETE, query)

    assert_safe_answer(response, error=error)
    if ConnectedAccount.objects.filter(provider="github").exists():
        assert code == GOOD_CODE  # only a code the provider accepted, with the real state
