"""Form-wrapped JSON deliveries reach handlers as the parsed object, end to end: stored as
the signed form bytes, processed with `event.payload` being the JSON inside `payload=`."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.webhooks.factories import make_endpoint
from tests.webhooks.providers.test_github import SECRET, signed_headers
from webhooks.handlers import _HANDLERS, register
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "github" / "issues.opened.json"


def test_a_github_form_delivery_is_handled_as_its_json_object(
    client, django_capture_on_commit_callbacks
):
    seen: list[object] = []
    endpoint = make_endpoint(provider="github", secret=SECRET)
    handler = register("github", "issues")(lambda event: seen.append(event.payload))
    inner = json.loads(FIXTURE.read_bytes())
    body = urlencode({"payload": json.dumps(inner)}).encode()
    headers = {
        name: value
        for name, value in signed_headers(body, **{"X-GitHub-Event": "issues"}).items()
        if name.lower() != "content-type"  # the form's own, as GitHub sends it
    }
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/webhooks/{endpoint.slug}/",
                data=body,
                content_type="application/x-www-form-urlencoded",
                **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
            )
    finally:
        _HANDLERS[("github", "issues")].remove(handler)
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get(endpoint=endpoint)
    assert event.raw_body == body  # the signed bytes, untouched
    assert event.status == WebhookEvent.Status.PROCESSED
    assert seen == [inner]
    assert event.payload["issue"]["number"] == inner["issue"]["number"]
