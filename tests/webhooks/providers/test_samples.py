"""Sample bodies are data files (`webhooks/samples/<provider>/<type>.json`), shipped as package
data, and every one of them is a delivery its provider accepts."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.webhooks.providers.sample_material import endpoint_material
from webhooks.exceptions import WebhookConfigurationError
from webhooks.providers import BUILTIN_PROVIDERS, get_provider
from webhooks.providers.base import Headers, IncomingDelivery
from webhooks.providers.samples import sample_event_types, sample_render

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "webhooks" / "samples"


def _every_sample() -> list[tuple[str, str]]:
    return [(cls.id, t) for cls in BUILTIN_PROVIDERS for t in sample_event_types(cls.id)]


def test_every_builtin_provider_has_samples() -> None:
    assert {cls.id for cls in BUILTIN_PROVIDERS} == {p.name for p in SAMPLES.iterdir()}
    for cls in BUILTIN_PROVIDERS:
        assert sample_event_types(cls.id), cls.id


def test_the_samples_ship_as_package_data() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "samples/**/*.json" in pyproject["tool"]["setuptools"]["package-data"]["webhooks"]
    manifest = (REPO / "MANIFEST.in").read_text().splitlines()
    assert any(
        line.startswith("recursive-include webhooks") and "*.json" in line for line in manifest
    )


@pytest.mark.parametrize(("provider_id", "event_type"), _every_sample())
def test_every_sample_is_accepted_by_its_provider(provider_id: str, event_type: str) -> None:
    provider = get_provider(provider_id)
    body = provider.sample_body(event_type, event_id=f"evt_sample_{provider_id}")
    secrets = endpoint_material(provider)
    if secrets is None:
        # Only the provider can sign (SNS): parse only.
        delivery = IncomingDelivery(body=body, headers=Headers({}), content_type="application/json")
        events = provider.parse(delivery)
    else:
        url = "https://hooks.example.com/webhooks/sample/"
        now = int(time.time())
        signed = provider.sign(
            body, secrets, url=url, timestamp=now, event_type=event_type, event_id="evt_s1"
        )
        content_type = signed.content_type.split(";")[0]
        form = parse_qs(signed.body.decode()) if "form" in content_type else {}
        delivery = IncomingDelivery(
            body=signed.body,
            headers=Headers({"Content-Type": signed.content_type, **signed.headers}),
            url=url,
            content_type=content_type,
            form=form,
            received_at=now,
        )
        provider.verify(delivery, secrets)
        events = provider.parse(delivery, secrets)
    assert events[0].event_type == event_type


def test_a_whole_placeholder_keeps_the_values_type_and_a_partial_one_becomes_text() -> None:
    payload = sample_render("hmac", "webhook", {"event_id": "e-1", "event_type": "t", "now": 5})
    assert (payload["id"], payload["type"], payload["created"]) == ("e-1", "t", 5)
    assert get_provider("stripe").sample_body(None, event_id="evt_1").count(b"{{") == 0


def test_a_placeholder_without_a_value_is_a_configuration_error() -> None:
    with pytest.raises(WebhookConfigurationError, match="placeholder"):
        sample_render("hmac", "webhook", {"event_id": "e-1"})
