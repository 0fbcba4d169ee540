"""GitLab: `X-Gitlab-Token` compared constant-time with each secret; GitLab's documented push
and merge request examples (tests/webhooks/fixtures/gitlab/)."""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import pytest

from tests.webhooks.providers import hmac_cases
from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets
from webhooks.providers.gitlab import gitlab_time

TOKEN = f"fake-gitlab-token-{secrets.token_hex(8)}"
OTHER = f"fake-gitlab-token-{secrets.token_hex(8)}"
UUID = "9cdf3ad0-6e1f-4c3f-8a4b-1a2f3c4d5e6f"
PUSH = hmac_cases.fixture_bytes("gitlab", "push.json")
provider = get_provider("gitlab")


def headers(token: str = TOKEN, **extra: str) -> dict[str, str]:
    return {
        "X-Gitlab-Token": token,
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Event-UUID": UUID,
        **extra,
    }


def test_documented_push_with_the_token_verifies_and_parses() -> None:
    delivery = hmac_cases.deliver(PUSH, headers(), now=time.time())
    provider.verify(delivery, EndpointSecrets(secrets=(TOKEN,)))
    [event] = provider.parse(delivery)
    assert (event.event_id, event.event_type) == (UUID, "push")
    # The last commit's time (GitLab lists commits oldest first).
    assert event.occurred_at == datetime.fromisoformat("2012-01-03T23:36:29+02:00").timestamp()


def test_any_active_token_verifies_during_rotation() -> None:
    delivery = hmac_cases.deliver(PUSH, headers(OTHER), now=time.time())
    provider.verify(delivery, EndpointSecrets(secrets=(TOKEN, OTHER)))


@pytest.mark.parametrize("token", [OTHER, TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "é"])
def test_wrong_token_is_rejected(token: str) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            hmac_cases.deliver(PUSH, headers(token), now=time.time()),
            EndpointSecrets(secrets=(TOKEN,)),
        )


def test_missing_token_is_rejected() -> None:
    without = {k: v for k, v in headers().items() if k != "X-Gitlab-Token"}
    with pytest.raises(SignatureMissing):
        provider.verify(
            hmac_cases.deliver(PUSH, without, now=time.time()), EndpointSecrets(secrets=(TOKEN,))
        )


def test_the_token_covers_no_byte_of_the_body_so_new_endpoints_dedupe_bodies() -> None:
    """GitLab signs nothing: a changed body with the right token verifies. The provider says
    so, which gives its endpoints the duplicate-body window."""
    tampered = PUSH.replace(b"fixed readme", b"fixed README")
    provider.verify(
        hmac_cases.deliver(tampered, headers(), now=time.time()), EndpointSecrets(secrets=(TOKEN,))
    )
    assert provider.signs_timestamp_or_id is False
    assert provider.default_duplicate_body_window_hours == 24


def test_merge_request_type_and_gitlab_utc_time() -> None:
    body = hmac_cases.fixture_bytes("gitlab", "merge_request.json")
    delivery = hmac_cases.deliver(
        body, headers(**{"X-Gitlab-Event": "Merge Request Hook"}), now=time.time()
    )
    [event] = provider.parse(delivery)
    assert event.event_type == "merge_request"
    assert event.occurred_at == datetime.fromisoformat("2013-12-03T17:23:34+00:00").timestamp()
    assert gitlab_time("2013-12-03T17:23:34Z") == event.occurred_at


def test_type_falls_back_to_the_event_header() -> None:
    delivery = hmac_cases.deliver(b'{"foo": 1}', headers(), now=time.time())
    assert provider.parse(delivery)[0].event_type == "Push Hook"


@pytest.mark.parametrize("missing", ["X-Gitlab-Event-UUID", "X-Gitlab-Event"])
def test_delivery_without_id_or_type_is_malformed(missing: str) -> None:
    kept = {k: v for k, v in headers().items() if k != missing}
    with pytest.raises(MalformedPayload):
        provider.parse(hmac_cases.deliver(b'{"foo": 1}', kept, now=time.time()))


@pytest.mark.django_db
def test_repeated_delivery_is_stored_once(client) -> None:
    endpoint = hmac_cases.endpoint_make("gitlab", TOKEN)
    event = hmac_cases.assert_stored_once(client, endpoint, PUSH, headers())
    assert (event.event_id, event.event_type) == (UUID, "push")


@pytest.mark.django_db
def test_wrong_token_is_refused_by_the_view(client) -> None:
    endpoint = hmac_cases.endpoint_make("gitlab", TOKEN)
    response = hmac_cases.post(client, endpoint, PUSH, headers(OTHER))
    assert response.status_code == 400
    assert response.json()["error"] == "signature_invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["push", "merge_request"])
def test_send_test_webhook_sample_is_accepted(client, event_type: str) -> None:
    endpoint = hmac_cases.endpoint_make("gitlab", TOKEN)
    hmac_cases.assert_send_test_accepted(client, endpoint, event_type)


@pytest.mark.django_db
def test_admin_filter_lists_gitlab(client, admin_client) -> None:
    endpoint = hmac_cases.endpoint_make("gitlab", TOKEN)
    hmac_cases.post(client, endpoint, PUSH, headers())
    hmac_cases.assert_admin_lists(admin_client, endpoint.events.get())
