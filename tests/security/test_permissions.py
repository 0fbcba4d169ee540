"""Staff permissions: "view" reads, it never changes anything.

For every admin action that changes state, a staff user holding only the model's `view_*`
permission is refused (the action is not offered, a crafted POST runs nothing) and nothing
changes; a user with the named permission gets a confirmation page listing the rows, and the
change happens only after confirming. The staff API asks for the same permissions: a staff
user without any reads nothing (403), a view-only one cannot replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from integrations.email.models import EmailMessage
from integrations.payments.models import Payment, Subscription
from oauth_accounts.models import ConnectedAccount
from tests.api.conftest import STAFF_API_PERMISSIONS, csrf_post
from tests.oauth_accounts.factories import make_account, make_user
from tests.webhooks.factories import make_endpoint, make_event
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def grant(user: Any, *names: str) -> Any:
    for name in names:
        app_label, codename = name.split(".", 1)
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def staff_with(*names: str) -> Any:
    return grant(make_user(is_staff=True), *names)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- admin actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCase:
    """One state-changing admin action: where it is, what it needs, how to see it ran."""

    changelist: str
    action: str
    view: str  # the permission that lets a user see the list
    needs: str  # the permission the action asks for
    make: Callable[[], Any]
    unchanged: Callable[[Any], bool]
    patch: dict[str, Any] | None = None  # module attribute -> fake service (no network)


def _dead_event() -> WebhookEvent:
    return make_event(endpoint=make_endpoint(), status=Status.DEAD, attempts=9)


def _failed_event() -> WebhookEvent:
    return make_event(endpoint=make_endpoint(), status=Status.FAILED, attempts=2)


def _event_unchanged(status: str, attempts: int) -> Callable[[Any], bool]:
    def check(event: WebhookEvent) -> bool:
        event.refresh_from_db()
        return (event.status, event.attempts) == (status, attempts)

    return check


def _account_untouched(account: ConnectedAccount) -> bool:
    before = (account.status, account.access_token, account.refresh_token)
    account.refresh_from_db()
    return (account.status, account.access_token, account.refresh_token) == before


def _payment() -> Payment:
    return Payment.objects.create(
        stripe_id="pi_perm", amount=2000, amount_received=2000, currency="usd", status="succeeded"
    )


def _email() -> EmailMessage:
    return EmailMessage.objects.create(
        to=["customer@example.com"], from_email="shop@example.com", subject="Your receipt"
    )


def _no_new_emails(message: EmailMessage) -> bool:
    return EmailMessage.objects.count() == 1


def _no_events(endpoint: WebhookEndpoint) -> bool:
    return not WebhookEvent.objects.filter(endpoint=endpoint).exists()


class Recorder:
    """Stands in for a service: records what it was asked to change."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self


CASES = {
    "replay": ActionCase(
        "admin:liaison_webhooks_webhookevent_changelist",
        "replay",
        "liaison_webhooks.view_webhookevent",
        "liaison_webhooks.replay_webhookevent",
        _dead_event,
        _event_unchanged(Status.DEAD, 9),
    ),
    "mark_ignored": ActionCase(
        "admin:liaison_webhooks_webhookevent_changelist",
        "mark_ignored",
        "liaison_webhooks.view_webhookevent",
        "liaison_webhooks.ignore_webhookevent",
        _failed_event,
        _event_unchanged(Status.FAILED, 2),
    ),
    "send_test_delivery": ActionCase(
        "admin:liaison_webhooks_webhookendpoint_changelist",
        "send_test_delivery",
        "liaison_webhooks.view_webhookendpoint",
        "liaison_webhooks.change_webhookendpoint",
        make_endpoint,
        _no_events,
        patch={"webhooks.admin.webhook_endpoint_send_test": "recorder"},
    ),
    "refresh_now": ActionCase(
        "admin:liaison_oauth_connectedaccount_changelist",
        "refresh_now",
        "liaison_oauth.view_connectedaccount",
        "liaison_oauth.change_connectedaccount",
        make_account,
        _account_untouched,
        patch={"oauth_accounts.services.oauth_token_refresh": "recorder"},
    ),
    "revoke": ActionCase(
        "admin:liaison_oauth_connectedaccount_changelist",
        "revoke",
        "liaison_oauth.view_connectedaccount",
        "liaison_oauth.revoke_connectedaccount",
        make_account,
        _account_untouched,
        patch={"oauth_accounts.services.oauth_account_revoke": "recorder"},
    ),
    "refund": ActionCase(
        "admin:liaison_payments_payment_changelist",
        "refund",
        "liaison_payments.view_payment",
        "liaison_payments.refund_payment",
        _payment,
        lambda payment: payment.refresh_from_db() or payment.amount_refunded == 0,
        patch={"integrations.payments.admin.payments.refund_create": "recorder"},
    ),
    "cancel_subscription": ActionCase(
        "admin:liaison_payments_subscription_changelist",
        "cancel_subscription",
        "liaison_payments.view_subscription",
        "liaison_payments.cancel_subscription",
        lambda: Subscription.objects.create(stripe_id="sub_perm", status="active"),
        lambda sub: sub.refresh_from_db() or sub.status == "active",
        patch={"integrations.payments.admin.billing.subscription_cancel": "recorder"},
    ),
    "resend": ActionCase(
        "admin:liaison_email_emailmessage_changelist",
        "resend",
        "liaison_email.view_emailmessage",
        "liaison_email.resend_emailmessage",
        _email,
        _no_new_emails,
        patch={"integrations.email.admin.email_message_resend": "recorder"},
    ),
}


class FakePaymentService:
    calls: list[tuple[str, Any]] = []

    def refund_create(self, *, payment: Any) -> None:
        self.calls.append(("refund", payment.pk))

    def subscription_cancel(self, subscription: Any, *, at_period_end: bool) -> None:
        self.calls.append(("cancel", subscription.pk))


@pytest.fixture
def service_calls(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> list[Any]:
    """Every fake service of the case records into one list (nothing reaches the network)."""
    case: ActionCase = CASES[request.node.callspec.params["name"]]
    calls: list[Any] = []
    FakePaymentService.calls = calls
    for target, kind in (case.patch or {}).items():
        module, attribute = target.rsplit(".", 1)
        if kind == "service":
            monkeypatch.setattr(f"{module}.{attribute}", FakePaymentService)
        else:

            def record(*args: Any, **kwargs: Any) -> Any:
                calls.append((args, kwargs))
                return _FakeResult()

            monkeypatch.setattr(f"{module}.{attribute}", record)
    return calls


class _FakeResult:
    revoked = True
    status_code = 200
    event_id = "evt_fake"


@pytest.mark.parametrize("name", list(CASES))
def test_a_view_only_staff_user_cannot_run_a_changing_action(name, service_calls):
    case = CASES[name]
    row = case.make()
    client = logged_in(staff_with(case.view))
    url = reverse(case.changelist)

    listing = client.get(url)
    crafted = client.post(
        url, {"action": case.action, ACTION_CHECKBOX_NAME: [row.pk], "confirmed": "yes"}
    )

    assert listing.status_code == 200  # they may look ...
    assert f'value="{case.action}"' not in listing.content.decode()  # ... not act
    assert crafted.status_code == 403
    assert service_calls == []
    assert case.unchanged(row)


@pytest.mark.parametrize("name", list(CASES))
def test_the_permission_shows_a_confirmation_then_changes_after_confirming(name, service_calls):
    case = CASES[name]
    row = case.make()
    client = logged_in(staff_with(case.view, case.needs))
    url = reverse(case.changelist)
    data = {"action": case.action, ACTION_CHECKBOX_NAME: [row.pk]}

    page = client.post(url, data)

    assert page.status_code == 200
    assert 'name="confirmed" value="yes"' in page.content.decode()
    assert escape(str(row)) in page.content.decode()  # the rows that will change are listed
    assert service_calls == []  # nothing yet
    assert case.unchanged(row)

    done = client.post(url, {**data, "confirmed": "yes"}, follow=True)

    assert done.status_code == 200
    if case.patch:
        assert len(service_calls) == 1  # the service was asked, once, for this row
    else:
        assert not case.unchanged(row)
    assert "1 " in " ".join(str(m) for m in done.context["messages"])  # the count reported


def test_a_view_only_staff_user_cannot_add_a_secret_through_the_change_form():
    endpoint = make_endpoint(slug="rotate-guard")
    client = logged_in(staff_with("liaison_webhooks.view_webhookendpoint"))
    url = reverse("admin:liaison_webhooks_webhookendpoint_change", args=[endpoint.pk])

    assert client.get(url).status_code == 200
    crafted = client.post(
        url,
        {
            "provider": "stripe",
            "slug": "rotate-guard",
            "tolerance_seconds": "300",
            "max_body_bytes": "1048576",
            "options": "{}",
            "new_secret": "whsec_attacker",
            "retire_old_secrets": "on",
            "secrets-TOTAL_FORMS": "0",
            "secrets-INITIAL_FORMS": "0",
        },
    )

    assert crafted.status_code == 403
    assert endpoint.secrets.count() == 1
    assert endpoint.secrets.get().active


# --- the staff API ----------------------------------------------------------------------------

READS = [
    "/api/staff/health/",
    "/api/staff/webhooks/events/",
    "/api/staff/webhooks/endpoints/",
    "/api/staff/accounts/",
]


def api_client(user: Any) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_staff_user_without_permissions_reads_nothing_from_the_staff_api():
    event = make_event(endpoint=make_endpoint())
    make_account()
    client = api_client(make_user(is_staff=True))

    for url in [*READS, f"/api/staff/webhooks/events/{event.pk}/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "results" not in response.json()


@pytest.mark.parametrize(
    ("url", "permission"),
    [
        ("/api/staff/health/", "liaison_ops.view_health"),
        ("/api/staff/webhooks/events/", "liaison_webhooks.view_webhookevent"),
        ("/api/staff/webhooks/endpoints/", "liaison_webhooks.view_webhookendpoint"),
        ("/api/staff/accounts/", "liaison_oauth.view_connectedaccount"),
    ],
)
def test_each_read_needs_its_view_permission_and_only_that(url, permission):
    others = [name for name in STAFF_API_PERMISSIONS if name != permission]

    assert api_client(staff_with(*others)).get(url).status_code == 403
    assert api_client(staff_with(permission)).get(url).status_code == 200


def test_a_view_only_staff_user_cannot_replay_through_the_api():
    event = make_event(endpoint=make_endpoint(), status=Status.DEAD, attempts=9)
    client = api_client(staff_with("liaison_webhooks.view_webhookevent"))

    response = csrf_post(client, f"/api/staff/webhooks/events/{event.pk}/replay/")

    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.DEAD, 9)


def test_the_replay_permission_replays_through_the_api(django_capture_on_commit_callbacks):
    event = make_event(endpoint=make_endpoint(), status=Status.DEAD, attempts=9)
    client = api_client(
        staff_with("liaison_webhooks.view_webhookevent", "liaison_webhooks.replay_webhookevent")
    )

    with django_capture_on_commit_callbacks(execute=False):
        response = csrf_post(client, f"/api/staff/webhooks/events/{event.pk}/replay/")

    assert response.status_code == 200
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PENDING, 0)


def test_the_accounts_api_shows_what_the_admin_shows_and_never_a_token():
    account = make_account(user=make_user("alice", email="alice@example.com"))
    viewer = staff_with("liaison_oauth.view_connectedaccount")

    [row] = api_client(viewer).get("/api/staff/accounts/").json()["results"]
    admin_page = logged_in(viewer).get(
        reverse("admin:liaison_oauth_connectedaccount_change", args=[account.pk])
    )

    text = str(row)
    assert account.access_token not in text
    assert account.refresh_token not in text
    assert "alice@example.com" not in text  # the user's own address is not served
    assert row["uid"] in admin_page.content.decode()  # what is served, the admin shows too


def test_the_endpoints_api_never_serves_key_material_from_options():
    make_endpoint(
        provider="sendgrid",
        slug="sg-keys",
        options={
            "test_private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        },
    )
    make_endpoint(
        provider="hmac", slug="hmac-opts", options={"header": "X", "secret_encoding": "hex"}
    )
    client = api_client(staff_with("liaison_webhooks.view_webhookendpoint"))

    rows = {
        row["slug"]: row for row in client.get("/api/staff/webhooks/endpoints/").json()["results"]
    }

    assert rows["sg-keys"]["options"] == {"test_private_key": "set"}
    assert rows["hmac-opts"]["options"] == {"header": "X", "secret_encoding": "hex"}
