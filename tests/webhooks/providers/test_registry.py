"""Every registered provider: registry, sample round trip, and hostile input never escapes as
anything but a `DeliveryRejected` (so the receive view answers 4xx, never 500)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import random
import time
from urllib.parse import parse_qs

import pytest

import webhooks.providers as providers_package
from tests.webhooks.providers.sample_material import BODY_UNSIGNED, endpoint_material
from webhooks.exceptions import DeliveryRejected, MalformedPayload, UnknownProvider
from webhooks.providers import PROVIDERS, get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery, WebhookProvider

NOW = 1_700_000_000
URL = "https://hooks.example.com/webhooks/sample/"

SIGNATURE_HEADERS = {
    "x-hub-signature-256",
    "stripe-signature",
    "x-twilio-signature",
    "x-slack-signature",
    "x-shopify-hmac-sha256",
    "webhook-signature",
    "svix-signature",
    "x-twilio-email-event-webhook-signature",
    "x-signature",
    "x-gitlab-token",
    "x-hub-signature",
    "linear-signature",
    "paddle-signature",
    "x-square-hmacsha256-signature",
    "x-zm-signature",
    "x-hubspot-signature-v3",
    "typeform-signature",
    "calendly-webhook-signature",
    "twitch-eventsub-message-signature",
}


def endpoint_secrets(provider: WebhookProvider) -> EndpointSecrets:
    material = endpoint_material(provider)
    assert material is not None, f"{provider.id} has no signing material for these tests"
    return material


def signed_delivery(provider: WebhookProvider) -> tuple[IncomingDelivery, EndpointSecrets]:
    secrets = endpoint_secrets(provider)
    body = provider.sample_body(None, event_id="evt_sample_1")
    signed = provider.sign(body, secrets, url=URL, timestamp=NOW, event_id="evt_sample_1")
    form = (
        parse_qs(signed.body.decode(), keep_blank_values=True)
        if signed.content_type.startswith("application/x-www-form-urlencoded")
        else {}
    )
    delivery = IncomingDelivery(
        body=signed.body,
        headers=Headers(signed.headers),
        url=URL,
        content_type=signed.content_type,
        form=form,
        # A timestamp inside the sample body (Linear) is the time the sample was made.
        received_at=time.time() if getattr(provider, "timestamp_field", "") else NOW,
    )
    return delivery, secrets


ALL = sorted(PROVIDERS)
# AWS SNS signs with AWS's certificate, which only its own tests stand in for (a local
# certificate served on loopback); every other provider signs with material made here.
SIGNABLE = [p for p in ALL if endpoint_material(get_provider(p)) is not None]


def _provider_classes_in_package() -> set[type[WebhookProvider]]:
    """Every concrete provider class defined in a module of `webhooks.providers`."""
    found: set[type[WebhookProvider]] = set()
    for module_info in pkgutil.iter_modules(providers_package.__path__):
        module = importlib.import_module(f"webhooks.providers.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, WebhookProvider)
                and value.__module__ == module.__name__
                and not inspect.isabstract(value)
                and isinstance(getattr(value, "id", None), str)
            ):
                found.add(value)
    return found


def test_registry_lists_every_provider_module() -> None:
    assert _provider_classes_in_package() <= set(PROVIDERS.values())
    assert len(ALL) >= 20
    assert {
        "stripe",
        "github",
        "sendgrid",
        "twilio",
        "slack",
        "shopify",
        "standard",
        "hmac",
        "gitlab",
        "bitbucket",
        "linear",
        "paddle",
        "square",
        "zoom",
        "hubspot",
        "intercom",
        "typeform",
        "calendly",
        "twitch",
    } <= set(ALL)
    for provider_id, cls in PROVIDERS.items():
        assert cls.id == provider_id
        assert cls.name
        assert cls.secret_kind in ("shared_secret", "provider_secret", "public_key", "none")


def test_unknown_provider_raises_a_typed_error() -> None:
    with pytest.raises(UnknownProvider):
        get_provider("paypal")
    assert get_provider("stripe") is get_provider("stripe")


@pytest.mark.parametrize("provider_id", SIGNABLE)
def test_sample_signed_delivery_verifies_and_parses(provider_id: str) -> None:
    provider = get_provider(provider_id)
    delivery, secrets = signed_delivery(provider)
    provider.verify(delivery, secrets)
    events = provider.parse(delivery, secrets)
    assert events
    for event in events:
        assert event.event_id
        assert event.event_type
        assert event.body


@pytest.mark.parametrize("provider_id", ALL)
def test_stored_headers_never_include_signatures(provider_id: str) -> None:
    stored = set(get_provider(provider_id).stored_headers)
    assert not stored & SIGNATURE_HEADERS
    assert all(name == name.lower() for name in stored)


@pytest.mark.parametrize("provider_id", SIGNABLE)
def test_non_utf8_body_is_rejected_not_crashed(provider_id: str) -> None:
    provider = get_provider(provider_id)
    delivery, secrets = signed_delivery(provider)
    hostile = IncomingDelivery(
        body=b"\xff\xfe\x80" + delivery.body,
        headers=delivery.headers,
        url=delivery.url,
        content_type=delivery.content_type,
        received_at=NOW,
    )
    if provider_id not in BODY_UNSIGNED:
        with pytest.raises(DeliveryRejected):
            provider.verify(hostile, secrets)
    if provider_id not in ("hmac", "github", "shopify"):  # these read ids from headers/hash
        with pytest.raises(MalformedPayload):
            provider.parse(hostile, secrets)


def _mutations(value: str, rng: random.Random) -> list[str]:
    chars = list(value)
    rng.shuffle(chars)
    return [
        "",
        " ",
        value[: len(value) // 2],
        value + value,
        f"{value},{value}",
        f"{value} {value}",
        "".join(chars),
        value.replace("=", ""),
        value.replace(",", ""),
        "é" * 20,
        "\x00" * 8,
        "9" * 5000,
        "-1",
        bytes(rng.randrange(256) for _ in range(40)).decode("latin-1"),
        value + "\udc80",
    ]


@pytest.mark.parametrize("provider_id", SIGNABLE)
def test_garbage_headers_give_delivery_rejected(provider_id: str) -> None:
    provider = get_provider(provider_id)
    delivery, secrets = signed_delivery(provider)
    rng = random.Random(provider_id)
    checked = 0
    for name in delivery.headers:
        for garbage in _mutations(delivery.headers[name], rng):
            headers = {**{n: delivery.headers[n] for n in delivery.headers}, name: garbage}
            hostile = IncomingDelivery(
                body=delivery.body,
                headers=Headers(headers),
                url=delivery.url,
                content_type=delivery.content_type,
                form=delivery.form,
                received_at=NOW,
            )
            try:
                provider.verify(hostile, secrets)
            except DeliveryRejected:
                checked += 1
                continue
            # Accepted: only possible when the header is not signed (ids, user agent, …);
            # parsing must then also either work or reject cleanly.
            with contextlib.suppress(DeliveryRejected):
                provider.parse(hostile, secrets)
    assert checked > 0
