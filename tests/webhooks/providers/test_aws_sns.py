"""AWS SNS: AWS's documented messages, signed by a locally generated certificate, verified with
the canonical-string rules of AWS's documentation; the certificate URL allow-list."""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.core.cache import cache

from integrations.outbound.resilience.testing import isolated_state
from tests.webhooks.providers.aws_sns_support import (
    CERT_URL,
    SigningCertificate,
    body_of,
    expired_certificate,
    fixture,
    make_certificate,
    ses_notification,
    sign_message,
    string_to_sign,
)
from webhooks.exceptions import (
    DeliveryRejected,
    EndpointSettingInvalid,
    MalformedPayload,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookConfigurationError,
)
from webhooks.providers import get_provider
from webhooks.providers.aws_sns import canonical_message
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery
from webhooks.providers.sns_certificates import (
    SnsCertificateUnavailable,
    SnsUrlRefused,
    sns_certificate_cache_clear,
    sns_url_check,
)

provider = get_provider("aws_sns")
NOTIFICATION_TIME = calendar.timegm((2012, 5, 2, 0, 54, 6)) + 0.655


@pytest.fixture(scope="module")
def certificate() -> SigningCertificate:
    return make_certificate()


@pytest.fixture(autouse=True)
def aws_mock(settings: Any) -> Iterator[responses.RequestsMock]:
    """No retries (a failed fetch fails at once), fresh breaker state, no cached certificate,
    and every HTTP call mocked: an unregistered URL raises instead of reaching the network."""
    settings.INTEGRATIONS_SERVICES = {"aws_sns": {"retries": 0}}
    sns_certificate_cache_clear()
    cache.clear()
    with isolated_state(), responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    sns_certificate_cache_clear()


def serve(mock: responses.RequestsMock, certificate: SigningCertificate, url: str = CERT_URL):
    mock.add(responses.GET, url, body=certificate.pem, content_type="application/x-pem-file")


def deliver(message: dict[str, Any], *, now: float, headers: dict[str, str] | None = None):
    return IncomingDelivery(
        body=body_of(message),
        headers=Headers({"Content-Type": "text/plain; charset=UTF-8", **(headers or {})}),
        content_type="text/plain",
        received_at=now,
    )


def verify(delivery: IncomingDelivery, **options: Any) -> None:
    provider.verify(delivery, EndpointSecrets(options=options))


def test_the_canonical_string_follows_awss_documented_order() -> None:
    notification = fixture("notification.json")
    assert canonical_message(notification, "Notification") == (
        b"Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
        b"Subject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\n"
        b"TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"
    )
    confirmation = fixture("subscription_confirmation.json")
    text = canonical_message(confirmation, "SubscriptionConfirmation")
    assert text == string_to_sign(confirmation)
    positions = [
        text.index(f"\n{key}\n".encode())
        for key in ("MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    ]
    assert text.startswith(b"Message\nYou have chosen")
    assert positions == sorted(positions)
    assert b"Subject" not in text


@pytest.mark.parametrize("version", ["1", "2"])
def test_documented_notification_verifies_with_either_signature_version(
    aws_mock, certificate, version
) -> None:
    serve(aws_mock, certificate)
    message = sign_message(fixture("notification.json"), certificate, version=version)
    delivery = deliver(message, now=NOTIFICATION_TIME + 5)
    verify(delivery)
    [event] = provider.parse(delivery)
    assert event.event_id == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    assert event.event_type == "Notification"
    assert event.occurred_at == pytest.approx(NOTIFICATION_TIME)


def test_a_notification_without_subject_verifies(aws_mock, certificate) -> None:
    serve(aws_mock, certificate)
    message = fixture("notification.json")
    del message["Subject"]
    verify(deliver(sign_message(message, certificate), now=NOTIFICATION_TIME))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("subscription_confirmation.json", "SubscriptionConfirmation"),
        ("unsubscribe_confirmation.json", "UnsubscribeConfirmation"),
    ],
)
def test_documented_confirmations_verify_and_keep_their_type(aws_mock, certificate, name, kind):
    serve(aws_mock, certificate)
    message = sign_message(fixture(name), certificate, version="1")
    now = provider.parse(deliver(message, now=0))[0].occurred_at
    delivery = deliver(message, now=now)
    verify(delivery)
    [event] = provider.parse(delivery)
    assert (event.event_type, event.event_id) == (kind, message["MessageId"])


def test_an_ses_bounce_is_typed_by_its_notification_type(aws_mock, certificate) -> None:
    serve(aws_mock, certificate)
    delivery = deliver(sign_message(ses_notification(), certificate), now=NOTIFICATION_TIME)
    verify(delivery)
    [event] = provider.parse(delivery)
    assert event.event_type == "Bounce"
    assert event.event_id == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"


@pytest.mark.parametrize(
    "change",
    [
        {"Message": "Hello world?"},
        {"Subject": "Another subject"},
        {"TopicArn": "arn:aws:sns:us-west-2:123456789012:OtherTopic"},
        {"MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf325"},
    ],
)
def test_a_tampered_message_is_refused(aws_mock, certificate, change) -> None:
    serve(aws_mock, certificate)
    message = {**sign_message(fixture("notification.json"), certificate), **change}
    with pytest.raises(SignatureInvalid):
        verify(deliver(message, now=NOTIFICATION_TIME))


def test_a_confirmation_signed_in_notification_order_is_refused(aws_mock, certificate) -> None:
    serve(aws_mock, certificate)
    message = fixture("subscription_confirmation.json")
    signed = sign_message({**message, "Type": "Notification"}, certificate)
    with pytest.raises(SignatureInvalid):
        verify(deliver({**signed, "Type": "SubscriptionConfirmation"}, now=1335473104))


def test_a_message_signed_by_another_key_is_refused(aws_mock, certificate) -> None:
    serve(aws_mock, certificate)
    message = sign_message(fixture("notification.json"), make_certificate())
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(deliver(message, now=NOTIFICATION_TIME))


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_and_future_timestamps_are_refused_before_any_fetch(aws_mock, certificate, offset):
    message = sign_message(fixture("notification.json"), certificate)
    with pytest.raises(TimestampOutOfTolerance):
        verify(deliver(message, now=NOTIFICATION_TIME - offset))
    assert len(aws_mock.calls) == 0


@pytest.mark.parametrize("field", ["Signature", "SigningCertURL"])
def test_missing_signature_fields_are_refused(aws_mock, certificate, field) -> None:
    message = sign_message(fixture("notification.json"), certificate)
    del message[field]
    with pytest.raises(SignatureMissing):
        verify(deliver(message, now=NOTIFICATION_TIME))


@pytest.mark.parametrize("version", [None, "3", 2, ""])
def test_an_unknown_signature_version_is_refused(aws_mock, certificate, version) -> None:
    message = {
        **sign_message(fixture("notification.json"), certificate),
        "SignatureVersion": version,
    }
    with pytest.raises(SignatureInvalid):
        verify(deliver(message, now=NOTIFICATION_TIME))


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"Type": "Other", "MessageId": "m"}', b'{"Message": "raw"}']
)
def test_bodies_that_are_not_sns_messages_are_refused(body: bytes) -> None:
    delivery = IncomingDelivery(body=body, headers=Headers({}), received_at=NOTIFICATION_TIME)
    with pytest.raises(MalformedPayload):
        provider.verify(delivery, EndpointSecrets())


def test_a_type_header_that_disagrees_with_the_body_is_refused(certificate) -> None:
    message = sign_message(fixture("notification.json"), certificate)
    delivery = deliver(
        message,
        now=NOTIFICATION_TIME,
        headers={"x-amz-sns-message-type": "SubscriptionConfirmation"},
    )
    with pytest.raises(MalformedPayload):
        verify(delivery)


def test_a_pinned_topic_refuses_other_topics_without_fetching(aws_mock, certificate) -> None:
    serve(aws_mock, certificate)
    message = sign_message(fixture("notification.json"), certificate)
    delivery = deliver(message, now=NOTIFICATION_TIME)
    with pytest.raises(SignatureInvalid) as caught:
        verify(delivery, topic_arns=["arn:aws:sns:us-west-2:123456789012:Other"])
    assert caught.value.reason == "topic_not_allowed"
    assert len(aws_mock.calls) == 0
    verify(delivery, topic_arns=["arn:aws:sns:us-west-2:123456789012:MyTopic"])


LOOK_ALIKES = [
    "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem",
    "https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.co/SimpleNotificationService-1.pem",
    "https://sns.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.evil.com/SimpleNotificationService-1.pem",
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://evil.com@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.txt",
    "https://sns.us-east-1.amazonaws.com/",
    "https://sns.us-east-1.amazonaws.com/cert.pem?x=1",
    "https://sns.us-east-1.amazonaws.com/cert.pem#frag",
    "https://sns.us-east-1.amazonaws.com/a/../cert.pem",
    "https://sns.us-east-1.amazonaws.com/%2e%2e/cert.pem",
    "https://sns.us-east-1.amazonaws.com/certs/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com\\@evil.com/cert.pem",
    "https://sns.us-east-1.amazonaws.com /cert.pem",
    "ftp://sns.us-east-1.amazonaws.com/cert.pem",
    "//sns.us-east-1.amazonaws.com/cert.pem",
    "https://SNS.us-east-1.amazonaws.com.evil.com/cert.pem",
    "",
]


@pytest.mark.parametrize("url", LOOK_ALIKES)
def test_certificate_urls_outside_the_allow_list_are_refused_without_a_network_call(
    aws_mock, certificate, url
) -> None:
    message = sign_message(fixture("notification.json"), certificate, cert_url=url)
    with pytest.raises(DeliveryRejected):
        verify(deliver(message, now=NOTIFICATION_TIME))
    with pytest.raises(SnsUrlRefused):
        sns_url_check(url, what="SigningCertURL", require_pem=True)
    assert len(aws_mock.calls) == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://SNS.EU-WEST-1.AMAZONAWS.COM/SimpleNotificationService-1.pem",
    ],
)
def test_aws_certificate_urls_are_allowed(url: str) -> None:
    assert sns_url_check(url, what="SigningCertURL", require_pem=True) == url


def test_the_certificate_is_fetched_once_then_cached(aws_mock, certificate) -> None:
    serve(aws_mock, certificate)
    message = sign_message(fixture("notification.json"), certificate)
    verify(deliver(message, now=NOTIFICATION_TIME))
    verify(deliver(message, now=NOTIFICATION_TIME))
    sns_certificate_cache_clear()  # another process: the Django cache still has it
    verify(deliver(message, now=NOTIFICATION_TIME))
    assert len(aws_mock.calls) == 1


def test_an_expired_certificate_is_refused(aws_mock) -> None:
    old = expired_certificate()
    serve(aws_mock, old)
    message = sign_message(fixture("notification.json"), old, cert_url=CERT_URL)
    now = time.time()
    message["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    message = sign_message(message, old)
    with pytest.raises(SignatureInvalid, match="not valid at this time"):
        verify(deliver(message, now=now))


def test_a_url_that_serves_no_certificate_is_refused(aws_mock, certificate) -> None:
    aws_mock.add(responses.GET, CERT_URL, body=b"<html>hello</html>")
    message = sign_message(fixture("notification.json"), certificate)
    with pytest.raises(SignatureInvalid, match=r"PEM X\.509"):
        verify(deliver(message, now=NOTIFICATION_TIME))


@pytest.mark.parametrize("status", [403, 404, 302])
def test_a_certificate_aws_does_not_serve_means_a_forgery(aws_mock, certificate, status) -> None:
    aws_mock.add(responses.GET, CERT_URL, status=status, headers={"Location": "https://evil.com/"})
    message = sign_message(fixture("notification.json"), certificate)
    with pytest.raises(SignatureInvalid):
        verify(deliver(message, now=NOTIFICATION_TIME))
    assert [call.request.url for call in aws_mock.calls] == [CERT_URL]


@pytest.mark.parametrize("status", [500, 503])
def test_a_failed_fetch_is_temporary_so_sns_retries(aws_mock, certificate, status) -> None:
    aws_mock.add(responses.GET, CERT_URL, status=status, headers={"Location": "https://evil.com/"})
    message = sign_message(fixture("notification.json"), certificate)
    with pytest.raises(SnsCertificateUnavailable):
        verify(deliver(message, now=NOTIFICATION_TIME))
    assert [call.request.url for call in aws_mock.calls] == [CERT_URL]


def test_options_are_checked_when_an_endpoint_is_saved() -> None:
    provider.check_settings(
        EndpointSecrets(
            options={"topic_arns": ["arn:aws:sns:us-east-1:1:T"], "auto_confirm": False}
        )
    )
    for options in (
        {"topic_arns": "arn:aws:sns:x"},
        {"topic_arns": [1]},
        {"auto_confirm": "no"},
        {"topics": []},
    ):
        with pytest.raises(EndpointSettingInvalid) as caught:
            provider.check_settings(EndpointSecrets(options=options))
        assert caught.value.field == "options"


def test_an_invalid_host_pattern_names_the_setting(settings) -> None:
    settings.WEBHOOKS_SNS_CERT_HOST_PATTERN = "sns.("
    with pytest.raises(WebhookConfigurationError, match="WEBHOOKS_SNS_CERT_HOST_PATTERN"):
        sns_url_check(CERT_URL, what="SigningCertURL", require_pem=True)


def test_the_certificate_service_is_built_in_so_production_needs_no_setting(settings):
    """Without an `aws_sns` entry in `INTEGRATIONS_SERVICES` the certificate fetch must still
    have a resilient client (else every SNS delivery would answer 503)."""
    from integrations.outbound.config import service_config
    from webhooks.providers.sns_certificates import SERVICE

    settings.INTEGRATIONS_SERVICES = {}
    config = service_config(SERVICE)
    assert config.name == "aws_sns"
    assert config.read_timeout <= 10.0
