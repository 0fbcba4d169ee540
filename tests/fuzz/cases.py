"""What the fuzz tests need to know about each webhook provider, and shared strategies.

Each `ProviderCase` holds freshly generated (obviously fake) verification material and says
where the provider puts its signature and timestamp, so one set of properties runs against
every provider in `webhooks.providers.PROVIDERS` (a test asserts none is missing).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hypothesis import strategies as st

from webhooks.providers import get_provider
from webhooks.providers.base import EndpointSecrets, SignedRequest
from webhooks.providers.sendgrid import TEST_PRIVATE_KEY_OPTION
from webhooks.signing import generate_ec_key_pair

HMAC_OPTIONS = {
    "header": "X-Signature",
    "prefix": "sha256=",
    "timestamp_header": "X-Timestamp",
    "id_header": "X-Event-Id",
    "type_header": "X-Event-Type",
    "signed_content": "{timestamp}.{id}.{body}",
}


def _stripe_timestamp(headers: dict[str, str], value: str) -> dict[str, str]:
    elements = [e for e in headers["Stripe-Signature"].split(",") if not e.startswith("t=")]
    return {**headers, "Stripe-Signature": ",".join([f"t={value}", *elements])}


def _header_timestamp(name: str) -> Callable[[dict[str, str], str], dict[str, str]]:
    def replace(headers: dict[str, str], value: str) -> dict[str, str]:
        return {**headers, name: value}

    return replace


@dataclass(frozen=True)
class ProviderCase:
    provider: str
    signature_header: str
    secrets: EndpointSecrets
    # Replaces the signed timestamp in a signed request's headers; None: the scheme has none.
    set_timestamp: Callable[[dict[str, str], str], dict[str, str]] | None = None
    # The scheme allows several signatures separated by whitespace (one valid one suffices).
    accepts_space_separated_signatures: bool = False
    # Form-encoded bodies (Twilio signs the URL and the form parameters).
    form_body: bool = False
    # False where the signed message is more than the raw body and headers (a timestamp or the
    # signature inside the body, a credential that covers no byte of it): only the random-input
    # property runs; the provider's own tests cover its scheme.
    signs_any_body: bool = True
    # Seconds a signed timestamp may be off (Twitch allows 10 minutes, most others 5).
    tolerance: int = 300
    options: dict[str, object] = field(default_factory=dict)

    @property
    def endpoint_fields(self) -> dict[str, object]:
        """Keyword arguments for `WebhookEndpoint` (public key, options) besides the secret."""
        return {"public_key": self.secrets.public_key, "options": dict(self.secrets.options)}

    @property
    def secret(self) -> str | None:
        return self.secrets.secrets[0] if self.secrets.secrets else None

    def sign(self, body: bytes, *, url: str, timestamp: int | None = None) -> SignedRequest:
        return get_provider(self.provider).sign(
            body,
            self.secrets,
            url=url,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            event_type="fuzz.event",
            event_id=f"evt_fuzz_{secrets.token_hex(8)}",
        )


def provider_cases() -> dict[str, ProviderCase]:
    """Fresh material for every provider (called per test module, never stored)."""
    private_pem, public_der = generate_ec_key_pair()
    standard_secret = get_provider("standard").generate_secret()
    return {
        "stripe": ProviderCase(
            "stripe",
            "Stripe-Signature",
            EndpointSecrets(secrets=(f"whsec_test_{secrets.token_hex(16)}",)),
            set_timestamp=_stripe_timestamp,
            accepts_space_separated_signatures=True,
        ),
        "github": ProviderCase(
            "github",
            "X-Hub-Signature-256",
            EndpointSecrets(secrets=(f"fake-github-{secrets.token_hex(12)}",)),
        ),
        "sendgrid": ProviderCase(
            "sendgrid",
            "X-Twilio-Email-Event-Webhook-Signature",
            EndpointSecrets(public_key=public_der, options={TEST_PRIVATE_KEY_OPTION: private_pem}),
            set_timestamp=_header_timestamp("X-Twilio-Email-Event-Webhook-Timestamp"),
        ),
        "twilio": ProviderCase(
            "twilio",
            "X-Twilio-Signature",
            EndpointSecrets(secrets=(f"fake-twilio-{secrets.token_hex(12)}",)),
            form_body=True,
        ),
        "slack": ProviderCase(
            "slack",
            "X-Slack-Signature",
            EndpointSecrets(secrets=(f"fake-slack-{secrets.token_hex(12)}",)),
            set_timestamp=_header_timestamp("X-Slack-Request-Timestamp"),
        ),
        "shopify": ProviderCase(
            "shopify",
            "X-Shopify-Hmac-Sha256",
            EndpointSecrets(secrets=(f"fake-shopify-{secrets.token_hex(12)}",)),
        ),
        "standard": ProviderCase(
            "standard",
            "webhook-signature",
            EndpointSecrets(secrets=(standard_secret,)),
            set_timestamp=_header_timestamp("webhook-timestamp"),
            accepts_space_separated_signatures=True,
        ),
        "hmac": ProviderCase(
            "hmac",
            "X-Signature",
            EndpointSecrets(secrets=(f"fake-hmac-{secrets.token_hex(12)}",), options=HMAC_OPTIONS),
            set_timestamp=_header_timestamp("X-Timestamp"),
        ),
        **_declared_cases(),
    }


# Providers added on the declarative base: their material comes from the provider-wide test
# helpers, their header names from the provider class itself.
_TIMESTAMP_HEADERS = {
    "zoom": "x-zm-request-timestamp",
    "hubspot": "X-HubSpot-Request-Timestamp",
    "twitch": "Twitch-Eventsub-Message-Timestamp",
    "ed25519": "X-Signature-Timestamp",
    "discord": "X-Signature-Timestamp",
}
_WHOLE_BODY_UNSIGNED = {"gitlab", "postmark", "linear", "mailgun", "aws_sns"}
_SIGNATURE_HEADERS = {"postmark": "Authorization", "mailgun": "", "aws_sns": ""}


def _declared_cases() -> dict[str, ProviderCase]:
    from tests.webhooks.providers.sample_material import endpoint_material
    from webhooks.providers import PROVIDERS

    known = {"stripe", "github", "sendgrid", "twilio", "slack", "shopify", "standard", "hmac"}
    cases = {}
    for provider_id in sorted(set(PROVIDERS) - known):
        provider = get_provider(provider_id)
        header = _SIGNATURE_HEADERS.get(
            provider_id, str(getattr(provider, "signature_header", "") or "")
        )
        timestamp = _TIMESTAMP_HEADERS.get(provider_id)
        cases[provider_id] = ProviderCase(
            provider_id,
            header,
            endpoint_material(provider) or EndpointSecrets(),
            set_timestamp=_header_timestamp(timestamp) if timestamp else None,
            signs_any_body=provider_id not in _WHOLE_BODY_UNSIGNED,
            tolerance=600 if provider_id == "twitch" else 300,
        )
    return cases


# --- strategies ----------------------------------------------------------------------------

# Header values as they can reach the view: any text without surrogates (WSGI hands headers
# over as latin-1 strings, but verifiers must not assume so).
header_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)
# Identifiers as providers name them, plus hostile ones (empty, control characters, huge).
identifiers = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=0, max_size=30),
    st.text(alphabet="abc_0123456789", min_size=1, max_size=40),
    st.text(alphabet="x", min_size=250, max_size=300),
    st.integers(),
    st.none(),
)
_ID_KEYS = ("id", "type", "event", "sg_event_id", "event_id", "event_type", "MessageSid")
event_objects = st.fixed_dictionaries(
    {},
    optional={
        **{key: identifiers for key in _ID_KEYS},
        "created": json_values,
        "timestamp": json_values,
        "event_time": json_values,
        "data": json_values,
        "challenge": identifiers,
    },
)
json_bodies = st.one_of(
    event_objects,
    st.lists(event_objects, min_size=0, max_size=4),
    json_values,
).map(lambda value: json.dumps(value).encode("utf-8"))
form_bodies = st.dictionaries(
    st.sampled_from(["MessageSid", "MessageStatus", "CallSid", "CallStatus", "AccountSid", "x"])
    | st.text(max_size=10),
    st.text(max_size=30),
    max_size=5,
).map(lambda fields: urlencode(fields).encode("utf-8"))
# Anything a sender could post: raw bytes (non-UTF-8 included), JSON, forms.
bodies = st.one_of(st.binary(max_size=2048), json_bodies, form_bodies)

# Timestamps no verifier may accept: stale or future by far more than the tolerance, negative,
# fractional, huge, non-ASCII digits, words, blanks.
bad_timestamps = st.one_of(
    st.integers(min_value=0, max_value=int(time.time()) - 3600).map(str),
    st.integers(min_value=int(time.time()) + 3600, max_value=10**12 - 1).map(str),
    st.integers(min_value=10**12, max_value=10**40).map(str),
    st.integers(max_value=-1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["", " ", "now", "0x10", "1e9", "+1700000000", "\u0661\u0667" + "\u0660" * 8, "\u0661"]
    ),
    header_text.filter(lambda t: not t.strip().isdigit()),
)
