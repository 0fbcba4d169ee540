"""The receive view: DESIGN.md's webhook contract (2xx only once stored, 4xx/5xx otherwise)."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory, override_settings

from tests.webhooks.factories import (
    fake_secret,
    make_endpoint,
    provider_signed_headers,
    signed_stripe_headers,
    stripe_body,
)
from webhooks.models import (
    VerificationFailure,
    VerificationFailureCount,
    WebhookEvent,
    WebhookSecret,
)
from webhooks.selectors import webhook_endpoint_config_get
from webhooks.services import webhook_secret_add
from webhooks.views import _public_url

pytestmark = pytest.mark.django_db


def post(client, endpoint, body: bytes, headers: dict[str, str], **extra):
    return client.post(
        f"/webhooks/{endpoint.slug}/",
        data=body,
        content_type="application/json",
        **headers,
        **extra,
    )


def test_valid_delivery_is_stored_with_raw_bytes_and_acknowledged(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    # Odd spacing and a non-ASCII character: the stored bytes must be exactly these.
    body = stripe_body(event_id="evt_raw_1").replace(b'"object": "event"', b'"object" :  "event"')
    body = body[:-1] + b', "note": "caf\xc3\xa9"}'

    response = post(client, endpoint, body, signed_stripe_headers(body, secret))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.raw_body == body
    assert event.event_id == "evt_raw_1"
    assert event.event_type == "liaison.test.unhandled"
    assert event.status == WebhookEvent.Status.PENDING
    assert event.payload["note"] == "café"
    assert event.occurred_at is not None
    assert event.headers.get("content-type") == "application/json"
    assert not any("signature" in name for name in event.headers)
    assert event.provider == "stripe"


def test_delivery_signed_by_our_provider_is_accepted(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body()

    response = post(client, endpoint, body, provider_signed_headers(body, secret))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_duplicate_delivery_is_stored_once_and_still_acknowledged(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body(event_id="evt_dup")

    first = post(client, endpoint, body, signed_stripe_headers(body, secret))
    second = post(client, endpoint, body, signed_stripe_headers(body, secret))

    assert first.status_code == second.status_code == 200
    assert second.json() == {"received": 1, "duplicates": 1}
    assert WebhookEvent.objects.filter(event_id="evt_dup").count() == 1


def test_same_event_id_on_two_endpoints_is_two_events(client):
    secret = fake_secret()
    one, two = make_endpoint(secret=secret), make_endpoint(secret=secret)
    body = stripe_body(event_id="evt_shared")

    post(client, one, body, signed_stripe_headers(body, secret))
    post(client, two, body, signed_stripe_headers(body, secret))

    assert WebhookEvent.objects.filter(event_id="evt_shared").count() == 2


def test_only_new_events_are_enqueued_after_commit(client, django_capture_on_commit_callbacks):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body(event_id="evt_enqueue")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(client, endpoint, body, signed_stripe_headers(body, secret))
        post(client, endpoint, body, signed_stripe_headers(body, secret))

    assert len(callbacks) == 1
    # Eager Celery: processed in-process; no handler for this type, so ignored.
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED


def test_oversized_body_is_refused_before_reading_and_nothing_is_stored(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret, max_body_bytes=1000)
    body = stripe_body()[:-1] + b', "pad": "' + b"x" * 2000 + b'"}'

    response = post(client, endpoint, body, signed_stripe_headers(body, secret))

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert not WebhookEvent.objects.exists()


def test_body_longer_than_declared_limit_is_never_read_past_it():
    endpoint = make_endpoint(max_body_bytes=10)
    config = webhook_endpoint_config_get(slug=endpoint.slug)
    request = RequestFactory().post(
        f"/webhooks/{endpoint.slug}/", data=b"x" * 50, content_type="application/json"
    )
    request.META.pop("CONTENT_LENGTH")  # a sender that does not declare the length
    request.META["CONTENT_LENGTH"] = "50"
    from webhooks.exceptions import PayloadTooLarge
    from webhooks.views import _read_delivery

    with pytest.raises(PayloadTooLarge):
        _read_delivery(request, config)


def test_malformed_body_with_valid_signature_is_400_and_nothing_is_stored(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = b"{not json"

    response = post(client, endpoint, body, signed_stripe_headers(body, secret))

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_payload"
    assert not WebhookEvent.objects.exists()


def test_bad_signature_is_400_counted_and_never_echoes_the_expected_signature(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body()

    response = post(client, endpoint, body, signed_stripe_headers(body, fake_secret()))

    assert response.status_code == 400
    assert response.json()["error"] == "signature_invalid"
    assert secret not in response.content.decode()
    assert not WebhookEvent.objects.exists()
    failure = VerificationFailure.objects.get()
    assert failure.reason == "signature_invalid"
    assert secret not in failure.detail
    assert VerificationFailureCount.objects.get().count == 1


def test_missing_signature_is_rejected(client):
    endpoint = make_endpoint()

    response = post(client, endpoint, stripe_body(), {})

    assert response.status_code == 400
    assert response.json()["error"] == "signature_missing"


@override_settings(WEBHOOKS_VERIFICATION_FAILURES_KEPT=3)
def test_verification_failures_are_bounded_but_all_counted(client):
    endpoint = make_endpoint()
    for _ in range(7):
        post(client, endpoint, stripe_body(), {"HTTP_STRIPE_SIGNATURE": "t=1,v1=00"})

    assert VerificationFailure.objects.filter(endpoint=endpoint).count() == 3
    counter = VerificationFailureCount.objects.get(endpoint=endpoint)
    assert counter.count == 7
    assert counter.hour.minute == 0


def test_storage_failure_is_answered_5xx_never_2xx(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body()
    webhook_endpoint_config_get(slug=endpoint.slug)  # warm the cache

    def fail_event_inserts(execute, sql, params, many, context):
        if sql.startswith("INSERT") and "webhooks_webhookevent" in sql:
            raise OperationalError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_event_inserts):
        response = post(client, endpoint, body, signed_stripe_headers(body, secret))

    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()


def test_hot_path_is_one_query_when_the_endpoint_is_cached(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    webhook_endpoint_config_get(slug=endpoint.slug)
    body = stripe_body()
    headers = signed_stripe_headers(body, secret)

    # Counters are kept by triggers inside the INSERT: still one statement.
    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(1):
        response = post(client, endpoint, body, headers)

    assert response.status_code == 200


def test_get_is_405_and_unknown_or_inactive_slugs_are_404(client):
    endpoint = make_endpoint()
    inactive = make_endpoint(active=False)

    assert client.get(f"/webhooks/{endpoint.slug}/").status_code == 405
    assert (
        client.post(
            "/webhooks/no-such-endpoint/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/webhooks/{inactive.slug}/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert not VerificationFailure.objects.exists()


def test_rotated_secret_old_and_new_both_verify_until_retired(client):
    old = fake_secret()
    endpoint = make_endpoint(secret=old)
    post(client, endpoint, b"{}", {})  # caches the endpoint with the old secret only
    new = fake_secret()

    webhook_secret_add(endpoint=endpoint, value=new)
    for secret in (old, new):
        body = stripe_body()
        assert post(client, endpoint, body, signed_stripe_headers(body, secret)).status_code == 200

    webhook_secret_add(endpoint=endpoint, value=fake_secret(), retire_others=True)
    body = stripe_body()
    assert post(client, endpoint, body, signed_stripe_headers(body, old)).status_code == 400


def test_deactivating_an_endpoint_takes_effect_despite_the_cache(client):
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)
    body = stripe_body()
    assert post(client, endpoint, body, signed_stripe_headers(body, secret)).status_code == 200

    endpoint.active = False
    endpoint.save()

    body = stripe_body()
    assert post(client, endpoint, body, signed_stripe_headers(body, secret)).status_code == 404


def test_renaming_an_endpoint_frees_the_old_url(client):
    endpoint = make_endpoint(slug="before")
    webhook_endpoint_config_get(slug="before")

    endpoint.slug = "after"
    endpoint.save()

    assert webhook_endpoint_config_get(slug="before") is None
    assert webhook_endpoint_config_get(slug="after") is not None


def test_endpoint_without_an_active_secret_answers_503_so_the_provider_retries(client):
    endpoint = make_endpoint()
    WebhookSecret.objects.filter(endpoint=endpoint).update(active=False)

    body = stripe_body()
    response = post(client, endpoint, body, signed_stripe_headers(body, fake_secret()))

    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()


def test_cached_configuration_never_holds_a_secret_in_the_clear():
    secret = fake_secret()
    endpoint = make_endpoint(secret=secret)

    config = webhook_endpoint_config_get(slug=endpoint.slug)

    assert secret not in json.dumps(config.secret_tokens)
    assert config.secrets().secrets == (secret,)


@override_settings(WEBHOOKS_PUBLIC_BASE_URL="https://hooks.example.com/")
def test_public_url_comes_from_the_setting_behind_a_proxy():
    request = RequestFactory().post("/webhooks/x/?a=1", HTTP_HOST="10.0.0.5:8000")

    assert _public_url(request) == "https://hooks.example.com/webhooks/x/?a=1"


@override_settings(
    USE_X_FORWARDED_HOST=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_public_url_honours_django_proxy_settings_without_the_setting():
    request = RequestFactory().post(
        "/webhooks/x/",
        HTTP_X_FORWARDED_HOST="localhost",
        HTTP_X_FORWARDED_PROTO="https",
    )

    assert _public_url(request) == "https://localhost/webhooks/x/"
