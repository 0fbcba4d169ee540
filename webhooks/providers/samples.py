"""Sample delivery bodies as data: `webhooks/samples/<provider>/<event type>.json`.

`send_test_webhook`, the admin's "send test delivery" action and the load tests post these.
Each file is one delivery body as the provider documents it, with placeholders a provider's
`sample_body()` fills in per delivery (`sample_render`):

- a JSON string that is exactly `"{{name}}"` becomes the value itself (a number stays a
  number: `"created": "{{now}}"` → `"created": 1767225600`);
- `{{name}}` inside a longer string is replaced by the value's text (`"pi_{{suffix}}"`).

Ids and timestamps are placeholders, so two samples never share a body (the duplicate-body
window of GitHub, Shopify and Twilio endpoints would otherwise store the second once). A type
with a `/` (Shopify topics) is a subdirectory: `shopify/orders/create.json`. The files ship as
package data (`pyproject.toml`, `MANIFEST.in`).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from webhooks.exceptions import WebhookConfigurationError

_PLACEHOLDER = re.compile(r"\{\{([a-z_][a-z0-9_]*)\}\}")


def sample_event_types(provider_id: str) -> tuple[str, ...]:
    """The event types with a sample file for `provider_id`, sorted."""
    return _event_types(provider_id)


def sample_render(provider_id: str, event_type: str, values: Mapping[str, Any]) -> Any:
    """The sample payload of `event_type` with its placeholders filled from `values`.

    `WebhookConfigurationError` (naming the types that have samples) when there is no sample
    for the type, or when a placeholder has no value (a broken sample file).
    """
    return _fill(_template(provider_id, event_type), values)


def sample_default_body(
    provider_id: str, event_type: str, *, event_id: str, sample: str | None = None
) -> bytes:
    """The sample of `event_type` as compact JSON bytes, with the placeholders every provider
    on the declarative base may use: `event_id`, `event_type`, `now` (epoch seconds), `now_ms`,
    `now_iso` (`…Z`), `now_iso_ms` (`….000Z`), `uuid` (a UUID derived from the event id),
    `suffix` (24 hex characters derived from it) and `number` (an integer derived from it).
    Derived values differ per event id, so two samples never share a body. `sample` names the
    file when it is not the event type (Bitbucket's `repo:push` lives in `repo/push.json`)."""
    now = time.time()
    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()
    values = {
        "event_id": event_id,
        "event_type": event_type,
        "now": int(now),
        "now_ms": int(now * 1000),
        "now_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "now_iso_ms": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)),
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, event_id)),
        "suffix": digest[:24],
        "number": int(digest[:8], 16),
    }
    payload = sample_render(provider_id, sample or event_type, values)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _root() -> Any:
    return resources.files("webhooks").joinpath("samples")


@cache
def _event_types(provider_id: str) -> tuple[str, ...]:
    directory = _root().joinpath(provider_id)
    found: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".json"):
                found.append(prefix + child.name.removesuffix(".json"))

    if directory.is_dir():
        walk(directory, "")
    return tuple(sorted(found))


@cache
def _template_text(provider_id: str, event_type: str) -> str:
    if event_type not in _event_types(provider_id):
        available = ", ".join(_event_types(provider_id)) or "none"
        raise WebhookConfigurationError(
            f"There is no {provider_id} sample for the event type {event_type!r} "
            f"(samples: {available})."
        )
    path = _root().joinpath(provider_id, *event_type.split("/")[:-1])
    return str(path.joinpath(event_type.split("/")[-1] + ".json").read_text(encoding="utf-8"))


def _template(provider_id: str, event_type: str) -> Any:
    # Parsed on every call: callers may change what they get (the load tests do).
    return json.loads(_template_text(provider_id, event_type))


def _fill(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole:
            return _value(whole.group(1), values)
        return _PLACEHOLDER.sub(lambda match: str(_value(match.group(1), values)), node)
    return node


def _value(name: str, values: Mapping[str, Any]) -> Any:
    try:
        return values[name]
    except KeyError:
        raise WebhookConfigurationError(
            f"A sample uses the placeholder {{{{{name}}}}}, which has no value."
        ) from None
