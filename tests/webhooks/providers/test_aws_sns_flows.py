"""AWS SNS end to end through the receive view and processing: notification, subscription
confirmation (automatic and by staff), unsubscribe confirmation, test deliveries, and a
certificate served over the wire by a local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.urls import reverse

from integrations.outbound.resilience.testing import isolated_state
from tests.webhooks.factories import make_event
from tests.webhooks.providers.aws_sns_support import (
    CERT_URL,
    SigningCertificate,
    body_of,
    fixture,
    make_certificate,
    ses_notification,
    sign_message,
)
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers.sns_certificates import sns_certificate_cache_clear
from webhooks.providers.sns_subscriptions import (
    SnsSubscriptionError,
    aws_sns_subscription_confirm,
)
from webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status
SUBSCRIBE_URL = "https://sns.us-west-2.amazonaws.com/"
CONFIRM_RESPONSE = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    "<ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-west-2:123456789012:MyTopic:"
    "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55</SubscriptionArn></ConfirmSubscriptionResult>"
    "</ConfirmSubscriptionResponse>"
)


@pytest.fixture(scope="module")
def certificate() -> SigningCertificate:
    return make_certificate()


@pytest.fixture(autouse=True)
def _aws(settings: Any) -> Iterator[None]:
    settings.INTEGRATIONS_SERVICES = {"aws_sns": {"retries": 0}}
    sns_certificate_cache_clear()
    cache.clear()
    with isolated_state():
        yield
    sns_certificate_cache_clear()


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def post(client, slug: str, message: dict[str, Any]):
    return client.post(
        reverse("liaison_webhooks:receive", kwargs={"slug": slug}),
        body_of(message),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=message["Type"],
        HTTP_X_AMZ_SNS_MESSAGE_ID=message["MessageId"],
    )


def endpoint(slug: str, **options: Any) -> WebhookEndpoint:
    return webhook_endpoint_create(provider="aws_sns", slug=slug, options=options).endpoint


@responses.activate
def test_a_text_plain_notification_is_stored_once(client, certificate) -> None:
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    endpoint("sns")
    message = sign_message(ses_notification(Timestamp=now_iso()), certificate)

    first, again = post(client, "sns", message), post(client, "sns", message)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["duplicates"] == 1
    event = WebhookEvent.objects.get()
    assert (event.event_id, event.event_type) == (message["MessageId"], "Bounce")
    assert event.headers["x-amz-sns-message-type"] == "Notification"
    assert len(responses.calls) == 1  # the certificate, once


@responses.activate
def test_a_forged_message_is_refused_and_nothing_is_stored(client, certificate) -> None:
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    endpoint("sns-forged")
    message = sign_message(fixture("notification.json", Timestamp=now_iso()), make_certificate())
    response = post(client, "sns-forged", message)
    assert response.status_code == 400
    assert response.json()["error"] == "signature_invalid"
    assert not WebhookEvent.objects.exists()


@responses.activate
def test_a_look_alike_certificate_host_gets_400_without_a_network_call(client, certificate):
    endpoint("sns-evil")
    evil = "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem"
    message = sign_message(
        fixture("notification.json", Timestamp=now_iso()), certificate, cert_url=evil
    )
    response = post(client, "sns-evil", message)
    assert (response.status_code, response.json()["error"]) == (400, "sns_url_refused")
    assert len(responses.calls) == 0


@responses.activate
def test_an_unreachable_certificate_is_a_503_so_sns_retries(client, certificate) -> None:
    responses.add(responses.GET, CERT_URL, status=503)
    endpoint("sns-down")
    message = sign_message(fixture("notification.json", Timestamp=now_iso()), certificate)
    assert post(client, "sns-down", message).status_code == 503
    assert not WebhookEvent.objects.exists()


@responses.activate
def test_a_subscription_confirmation_is_stored_then_confirmed_by_processing(
    client, certificate, django_capture_on_commit_callbacks
) -> None:
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    confirm = responses.add(responses.GET, SUBSCRIBE_URL, body=CONFIRM_RESPONSE)
    endpoint("sns-sub")
    message = sign_message(
        fixture("subscription_confirmation.json", Timestamp=now_iso()), certificate
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "sns-sub", message)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_type == "SubscriptionConfirmation"
    assert event.status == Status.PROCESSED
    assert confirm.call_count == 1
    sent = confirm.calls[0].request.url
    assert sent == message["SubscribeURL"]  # the token went to AWS, unchanged


@responses.activate
def test_manual_confirmation_waits_for_staff_then_the_service_confirms(
    client, certificate, django_capture_on_commit_callbacks
) -> None:
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    confirm = responses.add(responses.GET, SUBSCRIBE_URL, body=CONFIRM_RESPONSE)
    endpoint("sns-manual", auto_confirm=False)
    message = sign_message(
        fixture("subscription_confirmation.json", Timestamp=now_iso()), certificate
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "sns-manual", message).status_code == 200

    event = WebhookEvent.objects.get()
    assert confirm.call_count == 0
    arn = aws_sns_subscription_confirm(event=event)
    assert arn == "arn:aws:sns:us-west-2:123456789012:MyTopic:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
    assert confirm.call_count == 1


@responses.activate
def test_the_setting_switches_automatic_confirmation_off(
    client, certificate, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WEBHOOKS_SNS_AUTO_CONFIRM = False
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    confirm = responses.add(responses.GET, SUBSCRIBE_URL, body=CONFIRM_RESPONSE)
    endpoint("sns-setting")
    message = sign_message(
        fixture("subscription_confirmation.json", Timestamp=now_iso()), certificate
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "sns-setting", message).status_code == 200
    assert confirm.call_count == 0


@responses.activate
def test_an_unsubscribe_confirmation_is_recorded_and_not_acted_on(
    client, certificate, django_capture_on_commit_callbacks
) -> None:
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    endpoint("sns-unsub")
    message = sign_message(
        fixture("unsubscribe_confirmation.json", Timestamp=now_iso()), certificate
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "sns-unsub", message).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_type == "UnsubscribeConfirmation"
    assert [call.request.url for call in responses.calls] == [CERT_URL]


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-west-2.amazonaws.com.evil.com/?Action=ConfirmSubscription&Token=t",
        "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=t",
        "https://sns.us-west-2.amazonaws.com:444/?Action=ConfirmSubscription&Token=t",
        "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&Token=t",
    ],
)
@responses.activate
def test_a_subscribe_url_outside_the_allow_list_is_never_called(url: str) -> None:
    ep = endpoint(f"sns-bad-{abs(hash(url)) % 10**6}")
    message = fixture("subscription_confirmation.json", SubscribeURL=url)
    event = make_event(
        endpoint=ep,
        event_id="m-1",
        event_type="SubscriptionConfirmation",
        body=body_of(message),
        headers={"content-type": "text/plain"},
    )
    with pytest.raises(SnsSubscriptionError):
        aws_sns_subscription_confirm(event=event)
    assert len(responses.calls) == 0


@responses.activate
def test_send_test_webhook_sample_verifies(client, certificate) -> None:
    responses.add(responses.GET, CERT_URL, body=certificate.pem)
    ep = endpoint(
        "sns-test",
        test_private_key=certificate.private_pem,
        test_signing_cert_url=CERT_URL,
        topic_arns=["arn:aws:sns:us-east-1:123456789012:ses-bounces"],
    )

    def forward(request):
        response = client.generic(
            "POST",
            reverse("liaison_webhooks:receive", kwargs={"slug": "sns-test"}),
            request.body,
            content_type=request.headers["Content-Type"],
            HTTP_X_AMZ_SNS_MESSAGE_TYPE=request.headers["x-amz-sns-message-type"],
        )
        return response.status_code, {}, response.content

    responses.add_callback(responses.POST, "http://127.0.0.1:8000/webhooks/sns-test/", forward)
    result = webhook_endpoint_send_test(endpoint=ep, event_type="Bounce")

    assert result.status_code == 200, result.body
    assert WebhookEvent.objects.get().event_type == "Bounce"


class _CertificateServer(BaseHTTPRequestHandler):
    pem = b""
    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-pem-file")
        self.send_header("Content-Length", str(len(self.pem)))
        self.end_headers()
        self.wfile.write(self.pem)

    def log_message(self, *args: Any) -> None:
        return


def test_a_certificate_served_over_the_wire_by_an_allowed_local_host(
    client, certificate, settings
) -> None:
    settings.WEBHOOKS_SNS_CERT_HOST_PATTERN = r"127\.0\.0\.1"
    _CertificateServer.pem, _CertificateServer.requests = certificate.pem, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CertificateServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/SimpleNotificationService-local.pem"
        endpoint("sns-local")
        message = sign_message(
            fixture("notification.json", Timestamp=now_iso()), certificate, cert_url=url
        )
        assert post(client, "sns-local", message).status_code == 200
        # The default pattern refuses the same URL (a loopback host is never an AWS host).
        del settings.WEBHOOKS_SNS_CERT_HOST_PATTERN
        sns_certificate_cache_clear()
        cache.clear()
        again = sign_message(
            fixture("notification.json", Timestamp=now_iso(), MessageId="m-2"),
            certificate,
            cert_url=url,
        )
        assert post(client, "sns-local", again).status_code == 400
    finally:
        server.shutdown()
        server.server_close()
    assert _CertificateServer.requests == ["/SimpleNotificationService-local.pem"]
    assert WebhookEvent.objects.count() == 1


def _confirmation_event(slug: str) -> WebhookEvent:
    message = fixture("subscription_confirmation.json")
    return make_event(
        endpoint=endpoint(slug, auto_confirm=False),
        event_id=message["MessageId"],
        event_type="SubscriptionConfirmation",
        body=body_of(message),
        headers={"content-type": "text/plain"},
    )


@responses.activate
def test_the_admin_action_confirms_after_the_confirmation_page(admin_client) -> None:
    confirm = responses.add(responses.GET, SUBSCRIBE_URL, body=CONFIRM_RESPONSE)
    event = _confirmation_event("sns-admin")
    changelist = reverse("admin:liaison_webhooks_webhookevent_changelist")
    data = {"action": "confirm_sns_subscription", "_selected_action": [event.pk]}

    page = admin_client.post(changelist, data)
    assert page.status_code == 200
    assert confirm.call_count == 0
    done = admin_client.post(changelist, {**data, "confirmed": "yes"}, follow=True)

    assert "1 subscription(s) confirmed" in done.content.decode()
    assert confirm.call_count == 1


@responses.activate
def test_the_admin_action_needs_the_replay_permission(client, django_user_model) -> None:
    from django.contrib.auth.models import Permission

    confirm = responses.add(responses.GET, SUBSCRIBE_URL, body=CONFIRM_RESPONSE)
    event = _confirmation_event("sns-perm")
    staff = django_user_model.objects.create_user("viewer", password="x-unused", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    client.force_login(staff)
    response = client.post(
        reverse("admin:liaison_webhooks_webhookevent_changelist"),
        {"action": "confirm_sns_subscription", "_selected_action": [event.pk], "confirmed": "yes"},
    )
    assert response.status_code in (200, 302, 403)
    assert confirm.call_count == 0
