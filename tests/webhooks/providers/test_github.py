"""GitHub provider: GitHub's documented test vector is the reference signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from webhooks.exceptions import MalformedPayload, SignatureInvalid, SignatureMissing
from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, Headers, IncomingDelivery

# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
DOC_SECRET = "It's a Secret to Everybody"
DOC_PAYLOAD = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"
SECRET = "fake-github-secret-primary"
OLD_SECRET = "fake-github-secret-previous"
provider = get_provider("github")


def deliver(
    body: bytes, headers: dict[str, str], content_type: str = "application/json"
) -> IncomingDelivery:
    return IncomingDelivery(body=body, headers=Headers(headers), content_type=content_type)


def signed_headers(body: bytes, secret: str = SECRET, **extra: str) -> dict[str, str]:
    """Headers signed with GitHub's documented formula (hex HMAC-SHA256 of the body)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Delivery": "d-1",
        "X-GitHub-Event": "push",
        **extra,
    }


def test_documented_example_verifies() -> None:
    delivery = deliver(DOC_PAYLOAD, {"X-Hub-Signature-256": DOC_SIGNATURE})
    provider.verify(delivery, EndpointSecrets(secrets=(DOC_SECRET,)))


def test_sign_reproduces_the_documented_signature() -> None:
    signed = provider.sign(DOC_PAYLOAD, EndpointSecrets(secrets=(DOC_SECRET,)), url="", timestamp=0)
    assert signed.headers["X-Hub-Signature-256"] == DOC_SIGNATURE


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(b"Hello, World?", {"X-Hub-Signature-256": DOC_SIGNATURE}),
            EndpointSecrets(secrets=(DOC_SECRET,)),
        )


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(DOC_PAYLOAD, {"X-Hub-Signature-256": DOC_SIGNATURE}),
            EndpointSecrets(secrets=(SECRET,)),
        )


def test_missing_header_is_rejected() -> None:
    # The legacy SHA-1 header alone is not accepted.
    with pytest.raises(SignatureMissing):
        provider.verify(
            deliver(DOC_PAYLOAD, {"X-Hub-Signature": "sha1=00"}),
            EndpointSecrets(secrets=(DOC_SECRET,)),
        )


def test_rotated_secret_verifies() -> None:
    body = fixture_bytes("push.json")
    delivery = deliver(body, signed_headers(body, secret=OLD_SECRET))
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET, OLD_SECRET)))


@pytest.mark.parametrize(
    "header",
    [
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=",
        "sha256=zz",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "sha256=" + "ä" * 64,
        DOC_SIGNATURE + "," + DOC_SIGNATURE,
    ],
)
def test_garbage_headers_are_rejected(header: str) -> None:
    with pytest.raises(SignatureInvalid):
        provider.verify(
            deliver(DOC_PAYLOAD, {"X-Hub-Signature-256": header}),
            EndpointSecrets(secrets=(DOC_SECRET,)),
        )


def test_uppercase_hex_signature_verifies() -> None:
    header = "sha256=" + DOC_SIGNATURE.split("=", 1)[1].upper()
    provider.verify(
        deliver(DOC_PAYLOAD, {"X-Hub-Signature-256": header}),
        EndpointSecrets(secrets=(DOC_SECRET,)),
    )


def test_parse_uses_the_delivery_and_event_headers() -> None:
    body = fixture_bytes("issues.opened.json")
    headers = {
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Event": "issues",
    }
    [event] = provider.parse(deliver(body, headers))
    assert event.event_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert event.event_type == "issues"
    assert event.payload["action"] == "opened"
    assert event.body == body


def test_form_encoded_payload_is_parsed_and_verified() -> None:
    inner = {"zen": "Design for failure.", "hook_id": 1}
    body = urlencode({"payload": json.dumps(inner)}).encode()
    headers = signed_headers(body, **{"X-GitHub-Event": "ping"})
    delivery = deliver(body, headers, content_type="application/x-www-form-urlencoded")
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    [event] = provider.parse(delivery)
    assert event.payload == inner
    assert event.event_type == "ping"


@pytest.mark.parametrize(
    ("body", "headers", "content_type"),
    [
        (b"{}", {"X-GitHub-Event": "push"}, "application/json"),
        (b"{}", {"X-GitHub-Delivery": "d-1"}, "application/json"),
        (b"not json", {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"}, "application/json"),
        (b"\xff\xfe{}", {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"}, "application/json"),
        (b"[1]", {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"}, "application/json"),
        (
            b"other=1",
            {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"},
            "application/x-www-form-urlencoded",
        ),
        (
            b"payload=%FF",
            {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"},
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_malformed_payload_is_rejected(
    body: bytes, headers: dict[str, str], content_type: str
) -> None:
    with pytest.raises(MalformedPayload):
        provider.parse(deliver(body, headers, content_type))


def test_sign_names_the_event_of_a_sample() -> None:
    body = provider.sample_body("pull_request", event_id="d-2")
    signed = provider.sign(body, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=0)
    assert signed.headers["X-GitHub-Event"] == "pull_request"
    [event] = provider.parse(deliver(signed.body, signed.headers))
    assert event.event_type == "pull_request"
    provider.verify(deliver(signed.body, signed.headers), EndpointSecrets(secrets=(SECRET,)))


def test_sign_uses_the_given_event_id_and_type() -> None:
    body = provider.sample_body("push", event_id="d-3")
    signed = provider.sign(
        body,
        EndpointSecrets(secrets=(SECRET,)),
        url="",
        timestamp=0,
        event_type="push",
        event_id="d-3",
    )
    assert signed.headers["X-GitHub-Delivery"] == "d-3"
    assert json.loads(body)["ref"] == "refs/heads/main"


# --- form-wrapped payloads, occurred_at and samples (issue 12) -----------------------------

FORM = "application/x-www-form-urlencoded"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_form_delivery_reaches_handlers_as_the_parsed_object() -> None:
    """A webhook set to `application/x-www-form-urlencoded` posts `payload=<json>`: what is
    stored is the form, what handlers get (parse and the stored event alike) is the object."""
    inner = json.loads(fixture_bytes("issues.opened.json"))
    body = urlencode({"payload": json.dumps(inner)}).encode()
    headers = signed_headers(body, **{"X-GitHub-Event": "issues", "Content-Type": FORM})
    delivery = deliver(body, headers, content_type=FORM)
    provider.verify(delivery, EndpointSecrets(secrets=(SECRET,)))
    [event] = provider.parse(delivery)
    assert event.body == body
    assert event.payload == inner
    assert provider.stored_payload(body, {"content-type": FORM}) == inner
    json_body = fixture_bytes("issues.opened.json")
    assert provider.stored_payload(json_body, {"content-type": "application/json"}) == inner


@pytest.mark.parametrize(
    ("fixture", "event_type", "occurred_at"),
    [
        # head_commit.timestamp, with its offset.
        ("push.json", "push", "2019-05-15T15:20:41-04:00"),
        # The updated_at.
        ("issues.opened.json", "issues", "2019-05-15T15:20:18+00:00"),
    ],
)
def test_occurred_at_comes_from_the_payload(
    fixture: str, event_type: str, occurred_at: str
) -> None:
    body = fixture_bytes(fixture)
    headers = {"X-GitHub-Delivery": "d-9", "X-GitHub-Event": event_type}
    [event] = provider.parse(deliver(body, headers))
    assert event.occurred_at == datetime.fromisoformat(occurred_at).timestamp()


def test_events_without_a_time_of_their_own_have_no_occurred_at() -> None:
    # `create` names the repository's times, not the event's.
    headers = {"X-GitHub-Delivery": "d-10", "X-GitHub-Event": "create"}
    [event] = provider.parse(deliver(fixture_bytes("create.json"), headers))
    assert event.occurred_at is None


@pytest.mark.parametrize("event_type", ["ping", "push", "pull_request", "issues"])
def test_each_sample_file_parses_with_an_occurred_at(event_type: str) -> None:
    body = provider.sample_body(event_type, event_id="d-11")
    signed = provider.sign(body, EndpointSecrets(secrets=(SECRET,)), url="", timestamp=0)
    [event] = provider.parse(deliver(signed.body, signed.headers))
    assert event.event_type == event_type
    assert event.occurred_at is not None
