"""What a host project plugs in without editing Liaison: handler modules found at start-up,
wildcard handlers, its own providers (by setting or by call), and the webhook signals."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from tests.testapp.models import SecretNote
from tests.webhooks.acme_provider import AcmeRivalProvider, AcmeWebhookProvider, fresh_event_id
from tests.webhooks.factories import fake_secret, make_endpoint, make_event
from tests.webhooks.handlers.factories import stripe_fixture
from webhooks import conf, handlers, providers
from webhooks.exceptions import ProviderAlreadyRegistered, ProviderRegistrationError
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.providers import (
    get_provider,
    provider_choices,
    provider_register,
    providers_register_from_settings,
)
from webhooks.services import webhook_event_process, webhook_events_dispatch_due
from webhooks.signals import webhook_event_dead, webhook_event_failed, webhook_event_processed
from webhooks.testing import webhook_delivery_post

ACME_PATH = "tests.webhooks.acme_provider.AcmeWebhookProvider"
Register = Callable[..., Callable[..., object]]


@pytest.fixture
def registry() -> Iterator[None]:
    """Restore the provider registry after the test (registering is process-wide)."""
    saved, instances = dict(providers.PROVIDERS), dict(providers._INSTANCES)
    yield
    providers.PROVIDERS.clear()
    providers.PROVIDERS.update(saved)
    providers._INSTANCES.clear()
    providers._INSTANCES.update(instances)


def process(event: WebhookEvent) -> str:
    return webhook_event_process(event_pk=event.pk).status


# --- handler discovery -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_installed_apps_webhook_handlers_module_is_found_at_start_up():
    # Nothing in the test suite imports it: WebhooksConfig.ready() did.
    assert "tests.testapp.webhook_handlers" in sys.modules
    discovered = sys.modules["tests.testapp.webhook_handlers"]
    assert handlers.handlers_for("stripe", discovered.DISCOVERED_TYPE) == [
        discovered.record_discovered
    ]

    event = make_event(endpoint=make_endpoint(), event_type=discovered.DISCOVERED_TYPE)
    assert process(event) == "processed"
    assert event.event_id in discovered.seen


def test_liaisons_own_handlers_register_through_the_same_discovery():
    from webhooks.handlers.stripe import payment_intent_changed

    assert "webhooks.webhook_handlers" in sys.modules
    assert payment_intent_changed in handlers.handlers_for("stripe", "payment_intent.succeeded")


def test_modules_listed_in_the_setting_are_imported():
    from tests.webhooks.setting_handlers import SETTING_TYPE

    module = "tests.webhooks.setting_handlers"
    sys.modules.pop(module, None)
    key = ("stripe", SETTING_TYPE)
    handlers._HANDLERS.pop(key, None)
    try:
        with override_settings(WEBHOOKS_HANDLER_MODULES=[module]):
            assert conf.handler_modules() == (module,)
            handlers.handler_modules_load()
        assert [h.__name__ for h in handlers.handlers_for(*key)] == ["from_setting"]
    finally:
        handlers._HANDLERS.pop(key, None)
        sys.modules.pop(module, None)


def test_a_setting_module_that_cannot_be_imported_names_the_setting():
    with (
        override_settings(WEBHOOKS_HANDLER_MODULES=["hostapp.no_such_handlers"]),
        pytest.raises(ImproperlyConfigured, match=r"WEBHOOKS_HANDLER_MODULES.*no_such_handlers"),
    ):
        handlers.handler_modules_load()


def test_the_handler_setting_defaults_to_empty():
    assert conf.handler_modules() == ()


# --- wildcards -------------------------------------------------------------------------------


def test_exact_then_prefix_then_any_each_handler_once(register_handler: Register):
    def exact(event: Any) -> None: ...
    def invoice_payment(event: Any) -> None: ...
    def invoice(event: Any) -> None: ...
    def anything(event: Any) -> None: ...

    register_handler("acme-order", "*", anything)
    register_handler("acme-order", "invoice.*", invoice)
    register_handler("acme-order", "invoice.payment.*", invoice_payment)
    register_handler("acme-order", "invoice.payment.failed", exact)
    register_handler("acme-order", "*", exact)  # also a wildcard: still listed once, first

    assert handlers.handlers_for("acme-order", "invoice.payment.failed") == [
        exact,
        invoice_payment,
        invoice,
        anything,
    ]
    assert handlers.handlers_for("acme-order", "invoice.paid") == [invoice, anything, exact]
    assert handlers.handlers_for("acme-order", "customer.created") == [anything, exact]
    assert handlers.handlers_for("acme-order", "invoice") == [anything, exact]
    assert handlers.handlers_for("other-provider", "invoice.paid") == []


@pytest.mark.parametrize("pattern", ["inv*", "*.paid", "invoice.*.paid", "**", ""])
def test_unsupported_patterns_are_refused_at_registration(pattern):
    with pytest.raises(ValueError, match="event type"):
        handlers.register("acme-order", pattern)


@pytest.mark.django_db
def test_an_event_with_only_a_prefix_handler_is_processed_not_ignored(register_handler: Register):
    seen: list[str] = []
    register_handler("stripe", "liaison.wild.*", lambda event: seen.append(event.event_type))
    event = make_event(endpoint=make_endpoint(), event_type="liaison.wild.thing")

    assert process(event) == "processed"
    assert seen == ["liaison.wild.thing"]


@pytest.mark.django_db
def test_an_any_type_handler_runs_for_every_type_of_its_provider(register_handler: Register):
    seen: list[str] = []
    register_handler("github", "*", lambda event: seen.append(event.event_type))
    endpoint = make_endpoint(provider="github", secret="unused-github-secret")
    events = [make_event(endpoint=endpoint, event_type=t) for t in ("push", "issues.opened")]
    stripe_event = make_event(endpoint=make_endpoint(), event_type="liaison.test.unhandled")

    assert [process(e) for e in events] == ["processed", "processed"]
    assert process(stripe_event) == "ignored"
    assert seen == ["push", "issues.opened"]


# --- providers -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_provider_listed_in_the_setting_receives_deliveries_end_to_end(
    registry, client, register_handler: Register
):
    with override_settings(WEBHOOKS_PROVIDERS=[ACME_PATH]):
        assert providers_register_from_settings() == [AcmeWebhookProvider]
    assert isinstance(get_provider("acme"), AcmeWebhookProvider)
    assert ("acme", "Acme Corp") in provider_choices()
    field = WebhookEndpoint._meta.get_field("provider")
    assert ("acme", "Acme Corp") in list(field.formfield().choices)

    secret = fake_secret()
    endpoint = make_endpoint(provider="acme", slug="acme", secret=secret)
    endpoint.full_clean()  # the model's choices see the new provider (no migration)
    seen: list[str] = []
    register_handler("acme", "widget.*", lambda event: seen.append(event.event_id))
    event_id = fresh_event_id()
    body = json.dumps({"id": event_id, "type": "widget.created"}).encode()

    response = webhook_delivery_post(
        client, slug="acme", provider_id="acme", body=body, secret=secret
    )
    wrong = webhook_delivery_post(
        client, slug="acme", provider_id="acme", body=body, secret=fake_secret()
    )

    assert 200 <= response.status_code < 300
    assert wrong.status_code == 400
    stored = WebhookEvent.objects.get(endpoint=endpoint, event_id=event_id)
    assert stored.event_type == "widget.created"
    process(stored)
    assert seen == [event_id]


@pytest.mark.django_db
def test_the_endpoint_command_accepts_a_registered_provider(registry):
    provider_register(AcmeWebhookProvider)
    out = StringIO()
    call_command(
        "webhook_endpoint", "create", "--provider", "acme", "--slug", "acme-cmd", stdout=out
    )
    assert WebhookEndpoint.objects.get(slug="acme-cmd").provider == "acme"


@pytest.mark.django_db
def test_the_testing_helper_signs_a_stripe_delivery_the_view_accepts(client):
    secret = fake_secret()
    make_endpoint(provider="stripe", slug="stripe-helper", secret=secret)
    body = json.dumps(stripe_fixture("payment_intent.succeeded")).encode()

    response = webhook_delivery_post(
        client, slug="stripe-helper", provider_id="stripe", body=body, secret=secret
    )

    assert 200 <= response.status_code < 300
    assert WebhookEvent.objects.filter(event_type="payment_intent.succeeded").count() == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("hostapp.providers.Missing", r"WEBHOOKS_PROVIDERS.*'hostapp\.providers\.Missing'"),
        (
            "tests.webhooks.acme_provider.NotAProvider",
            r"WEBHOOKS_PROVIDERS.*NotAProvider.*not a subclass of "
            r"webhooks\.providers\.base\.WebhookProvider",
        ),
        (
            "tests.webhooks.acme_provider.StripeImpostorProvider",
            r"WEBHOOKS_PROVIDERS.*StripeImpostorProvider.*'stripe'.*built-in",
        ),
    ],
)
def test_a_bad_provider_setting_names_the_setting_and_the_path(registry, path, message):
    with (
        override_settings(WEBHOOKS_PROVIDERS=[path]),
        pytest.raises(ProviderRegistrationError, match=message),
    ):
        providers_register_from_settings()
    assert get_provider("stripe").__class__.__name__ == "StripeWebhookProvider"


def test_two_listed_classes_with_one_id_name_the_setting(registry):
    rival = "tests.webhooks.acme_provider.AcmeRivalProvider"
    with (
        override_settings(WEBHOOKS_PROVIDERS=[ACME_PATH, rival]),
        pytest.raises(ProviderAlreadyRegistered, match=r"WEBHOOKS_PROVIDERS.*AcmeRival.*'acme'"),
    ):
        providers_register_from_settings()


def test_provider_register_refuses_a_duplicate_id_unless_replace(registry):
    assert provider_register(AcmeWebhookProvider) is AcmeWebhookProvider
    assert provider_register(AcmeWebhookProvider) is AcmeWebhookProvider  # same class: no-op
    first = get_provider("acme")

    with pytest.raises(ProviderAlreadyRegistered) as raised:
        provider_register(AcmeRivalProvider)
    assert raised.value.provider_id == "acme"
    assert isinstance(raised.value, ImproperlyConfigured)

    provider_register(AcmeRivalProvider, replace=True)
    assert type(get_provider("acme")) is AcmeRivalProvider
    assert get_provider("acme") is not first


def test_provider_register_refuses_what_is_not_a_provider(registry):
    from tests.webhooks.acme_provider import NotAProvider

    with pytest.raises(ProviderRegistrationError, match="not a subclass"):
        provider_register(NotAProvider)  # type: ignore[arg-type]

    class TooLong(AcmeWebhookProvider):
        id = "x" * 33

    with pytest.raises(ProviderRegistrationError, match="longer than 32"):
        provider_register(TooLong)


# --- signals ---------------------------------------------------------------------------------


@pytest.fixture
def sent() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    got: list[tuple[str, dict[str, Any]]] = []
    receivers = {}
    for name, signal in (
        ("processed", webhook_event_processed),
        ("failed", webhook_event_failed),
        ("dead", webhook_event_dead),
    ):

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal")
            got.append((_name, {"sender": sender, **kwargs}))

        receivers[name] = (signal, receiver)
        signal.connect(receiver, weak=False)
    yield got
    for signal, receiver in receivers.values():
        signal.disconnect(receiver)


@pytest.fixture
def connected() -> Iterator[Callable[..., None]]:
    """Connect a receiver for this test only."""
    added: list[tuple[Any, Any]] = []

    def _connect(signal: Any, receiver: Any) -> None:
        signal.connect(receiver, weak=False)
        added.append((signal, receiver))

    yield _connect
    for signal, receiver in added:
        signal.disconnect(receiver)


@pytest.mark.django_db
def test_processed_is_sent_once_with_the_event(sent, register_handler: Register):
    register_handler("stripe", "liaison.sig.ok", lambda event: None)
    event = make_event(endpoint=make_endpoint(), event_type="liaison.sig.ok")

    assert process(event) == "processed"

    assert [name for name, _ in sent] == ["processed"]
    kwargs = sent[0][1]
    assert kwargs["sender"] is WebhookEvent
    assert kwargs["event"].pk == event.pk
    assert kwargs["event"].status == "processed"
    assert set(kwargs) == {"sender", "event"}


@pytest.mark.django_db
def test_an_ignored_event_sends_nothing(sent):
    assert process(make_event(endpoint=make_endpoint(), event_type="liaison.sig.none")) == (
        "ignored"
    )
    assert sent == []


@pytest.mark.django_db
def test_failed_is_sent_after_the_failure_is_recorded(sent, connected, register_handler):
    def fails(event: Any) -> None:
        SecretNote.objects.create(label="handler write")  # rolled back with the handler
        raise RuntimeError("upstream said no")

    def records(sender: Any, event: WebhookEvent, error: str, **kwargs: Any) -> None:
        stored = WebhookEvent.objects.get(pk=event.pk)
        SecretNote.objects.create(label=f"seen {stored.status} {stored.attempts}")

    register_handler("stripe", "liaison.sig.fail", fails)
    connected(webhook_event_failed, records)
    event = make_event(endpoint=make_endpoint(), event_type="liaison.sig.fail")

    assert process(event) == "failed"

    assert [name for name, _ in sent] == ["failed"]
    kwargs = sent[0][1]
    assert kwargs["error"] == "RuntimeError: upstream said no"
    assert kwargs["event"].status == "failed"
    assert kwargs["event"].next_attempt_at is not None
    # The receiver saw the recorded failure and its write committed with it.
    assert list(SecretNote.objects.values_list("label", flat=True)) == ["seen failed 1"]


@pytest.mark.django_db
def test_dead_is_sent_when_the_last_attempt_fails(sent, register_handler: Register):
    def fails(event: Any) -> None:
        raise ValueError("still broken")

    register_handler("stripe", "liaison.sig.dead", fails)
    event = make_event(
        endpoint=make_endpoint(),
        event_type="liaison.sig.dead",
        status="failed",
        attempts=conf.max_attempts() - 1,
    )

    assert process(event) == "dead"

    assert [(name, kw["error"]) for name, kw in sent] == [("dead", "ValueError: still broken")]
    assert sent[0][1]["event"].status == "dead"


@pytest.mark.django_db
def test_a_raising_processed_receiver_fails_the_event_and_rolls_back_its_writes(
    sent, connected, register_handler
):
    def handler(event: Any) -> None:
        SecretNote.objects.create(label="handler write")

    def broken(sender: Any, **kwargs: Any) -> None:
        SecretNote.objects.create(label="receiver write")
        raise RuntimeError("receiver broke")

    register_handler("stripe", "liaison.sig.receiver", handler)
    connected(webhook_event_processed, broken)
    event = make_event(endpoint=make_endpoint(), event_type="liaison.sig.receiver")

    assert process(event) == "failed"

    event.refresh_from_db()
    assert event.status == "failed"
    assert event.last_error == "RuntimeError: receiver broke"
    assert not SecretNote.objects.exists()
    assert [name for name, _ in sent] == ["processed", "failed"]


@pytest.mark.django_db
def test_a_raising_failed_receiver_does_not_undo_the_recorded_failure(
    connected, register_handler, caplog
):
    def fails(event: Any) -> None:
        raise RuntimeError("handler broke")

    def broken(sender: Any, **kwargs: Any) -> None:
        SecretNote.objects.create(label="receiver write")
        raise RuntimeError("receiver broke too")

    register_handler("stripe", "liaison.sig.fail2", fails)
    connected(webhook_event_failed, broken)
    event = make_event(endpoint=make_endpoint(), event_type="liaison.sig.fail2")

    assert process(event) == "failed"

    event.refresh_from_db()
    assert (event.status, event.last_error) == ("failed", "RuntimeError: handler broke")
    assert not SecretNote.objects.exists()
    assert "webhook_event_signal_receiver_failed" in caplog.text


@pytest.mark.django_db
def test_an_event_whose_worker_died_sends_failed_from_the_dispatcher(sent):
    from datetime import timedelta

    from django.utils import timezone

    event = make_event(
        endpoint=make_endpoint(),
        event_type="liaison.sig.stuck",
        status="processing",
        attempts=1,
        locked_until=timezone.now() - timedelta(seconds=5),
    )

    report = webhook_events_dispatch_due()

    assert report.stuck_retried == 1
    assert [(name, kw["event"].pk, kw["error"].split(":")[0]) for name, kw in sent] == [
        ("failed", event.pk, "WorkerLost")
    ]
