"""Property-based tests of `POST /webhooks/<slug>/` for every provider (DESIGN.md's contract).

- Anything unsigned or tampered with: a 4xx and no stored event, whatever the body, headers,
  content type or encoding.
- A correctly signed random body: a 2xx with its events stored (or acknowledged as a
  duplicate), or a clean 4xx as malformed with nothing stored.
- Never a 5xx: the database is up, so a 5xx could only be a crash.
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.cache import cache
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz.cases import ProviderCase, bodies, header_text, provider_cases
from tests.webhooks.factories import make_endpoint
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.selectors import endpoint_local_cache_clear

pytestmark = pytest.mark.django_db

CASES = provider_cases()
PROVIDER_IDS = sorted(CASES)
# Schemes that sign any bytes as sent (see `ProviderCase.signs_any_body`).
SIGNING_IDS = [p for p in PROVIDER_IDS if CASES[p].signs_any_body]
# AWS SNS signs with AWS's certificate: its own tests post with a local one.
SAMPLE_IDS = [p for p in PROVIDER_IDS if p != "aws_sns"]
MAX_BODY = 1024

content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "",
        "\u00e9/\u00e9",
    ]
)
header_names = st.text(
    alphabet=string.ascii_letters + string.digits + "-",
    min_size=1,
    max_size=30,
)


@pytest.fixture
def endpoint_for() -> Any:
    cache.clear()
    endpoint_local_cache_clear()

    created: dict[str, WebhookEndpoint] = {}

    def create(case: ProviderCase) -> WebhookEndpoint:
        # One endpoint per test, shared by its examples (each example compares before/after).
        if case.provider not in created:
            created[case.provider] = make_endpoint(
                provider=case.provider,
                secret=case.secret,
                max_body_bytes=MAX_BODY,
                **case.endpoint_fields,
            )
        return created[case.provider]

    yield create
    cache.clear()
    endpoint_local_cache_clear()


def post(client: Any, endpoint: WebhookEndpoint, body: bytes, content_type: str, headers: dict):
    return client.generic(
        "POST", endpoint.path, data=body, content_type=content_type, headers=headers
    )


def stored(endpoint: WebhookEndpoint) -> int:
    return WebhookEvent.objects.filter(endpoint=endpoint).count()


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@given(
    body=bodies,
    content_type=content_types,
    headers=st.dictionaries(header_names, header_text, max_size=6),
    signature=st.none() | header_text,
)
def test_unsigned_deliveries_get_a_4xx_and_store_nothing(
    client, endpoint_for, provider, body, content_type, headers, signature
):
    case = CASES[provider]
    endpoint = endpoint_for(case)
    if signature is not None and case.signature_header:
        headers = {**headers, case.signature_header: signature}
    before = stored(endpoint)

    response = post(client, endpoint, body, content_type, headers)

    assert 400 <= response.status_code < 500, response.content[:300]
    assert stored(endpoint) == before


@pytest.mark.parametrize("provider", SIGNING_IDS)
@given(body=bodies, data=st.data())
def test_signed_random_bodies_are_stored_or_cleanly_rejected(
    client, endpoint_for, provider, body, data
):
    case = CASES[provider]
    endpoint = endpoint_for(case)
    if case.form_body:
        body = body.decode("utf-8", "replace").encode("utf-8")
    request = case.sign(body, url=f"http://testserver{endpoint.path}")
    before = stored(endpoint)

    response = post(client, endpoint, body, request.content_type, dict(request.headers))

    assert response.status_code < 500, response.content[:300]
    if len(body) > MAX_BODY:
        assert response.status_code == 413
    if response.status_code >= 300:
        assert 400 <= response.status_code < 500
        assert stored(endpoint) == before
        return
    if response["Content-Type"] == "application/json" and b'"received"' in response.content:
        answer = response.json()
        assert stored(endpoint) - before == answer["received"] - answer["duplicates"]
    else:  # Twilio's TwiML / Slack's challenge answers: the event was stored or a duplicate
        assert stored(endpoint) >= before

    # The same delivery again is acknowledged and stores nothing more.
    again_before = stored(endpoint)
    again = post(client, endpoint, body, request.content_type, dict(request.headers))
    assert again.status_code == response.status_code
    assert stored(endpoint) == again_before

    # Tampered with after signing: refused, nothing stored.
    tampered = body + data.draw(st.binary(min_size=1, max_size=8))
    if case.form_body:
        tampered = tampered.decode("utf-8", "replace").encode("utf-8")
    assume(tampered != body)
    if case.form_body:  # Twilio signs the decoded form parameters, not the bytes
        assume(parse_qs(tampered.decode()) != parse_qs(body.decode()))
    refused = post(client, endpoint, tampered, request.content_type, dict(request.headers))
    assert 400 <= refused.status_code < 500
    assert stored(endpoint) == again_before


@pytest.mark.parametrize("provider", SAMPLE_IDS)
def test_every_provider_accepts_its_own_sample_delivery(client, endpoint_for, provider):
    """The positive control: the fuzzed view really stores a well-formed signed delivery."""
    from webhooks.providers import get_provider

    case = CASES[provider]
    endpoint = endpoint_for(case)
    body = get_provider(provider).sample_body(None, event_id="evt_fuzz_sample_1")
    request = case.sign(body, url=f"http://testserver{endpoint.path}")
    if len(request.body) > MAX_BODY:
        endpoint.max_body_bytes = 10 * MAX_BODY
        endpoint.save()
        cache.clear()
        endpoint_local_cache_clear()

    # Mailgun signs inside the body: the signed request's body is what the sender posts.
    response = post(client, endpoint, request.body, request.content_type, dict(request.headers))

    assert response.status_code == 200, response.content[:300]
    assert stored(endpoint) >= 1
