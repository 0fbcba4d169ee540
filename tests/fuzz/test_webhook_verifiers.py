"""Property-based tests of every provider's verifier and parser (no HTTP, no database).

Properties, for every provider in the registry:

- random bodies and headers are rejected with a `DeliveryRejected` (a 4xx), never another
  exception (which would be a 500);
- a correctly signed delivery stays accepted, and any tampering (body changed, signature
  truncated, replaced or repeated, timestamp replaced by a bad one) is rejected;
- the events parsed from a correctly signed random body are storable (the `ParsedEvent`
  checks passed), or the body is refused as malformed — nothing else.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz.cases import bad_timestamps, bodies, header_text, provider_cases
from webhooks.exceptions import DeliveryRejected
from webhooks.providers import PROVIDERS, get_provider
from webhooks.providers.base import Headers, IncomingDelivery, ParsedEvent

URL = "https://hooks.example.test/webhooks/fuzz/"
CASES = provider_cases()
PROVIDER_IDS = sorted(CASES)
SIGNING_IDS = [p for p in PROVIDER_IDS if CASES[p].signs_any_body]


def delivery(
    body: bytes, headers: dict[str, str], *, content_type: str = "application/json"
) -> IncomingDelivery:
    from urllib.parse import parse_qs

    form: dict[str, list[str]] = {}
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return IncomingDelivery(
        body=body,
        headers=Headers(list(headers.items())),
        url=URL,
        content_type=content_type,
        form=form,
    )


def signed(provider: str, body: bytes) -> tuple[dict[str, str], str]:
    case = CASES[provider]
    request = case.sign(body, url=URL)
    return dict(request.headers), request.content_type


def verify(provider: str, incoming: IncomingDelivery) -> None:
    get_provider(provider).verify(incoming, CASES[provider].secrets)


def form_of(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8"), keep_blank_values=True)


def test_every_registered_provider_is_fuzzed():
    assert set(PROVIDERS) == set(CASES)


signable_bodies = st.one_of(st.binary(max_size=512), st.text(max_size=200).map(str.encode))


def _form_safe(provider: str, body: bytes) -> bytes:
    # Twilio signs form parameters, which the receive view decodes as UTF-8 first.
    if CASES[provider].form_body:
        return body.decode("utf-8", "replace").encode("utf-8")
    return body


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@given(
    body=bodies,
    headers=st.dictionaries(header_text.filter(bool), header_text, max_size=6),
    include_signature=st.booleans(),
    signature=header_text,
)
def test_random_deliveries_are_rejected_cleanly(
    provider, body, headers, include_signature, signature
):
    case = CASES[provider]
    if include_signature and case.signature_header:
        headers = {**headers, case.signature_header: signature}

    with pytest.raises(DeliveryRejected):
        verify(provider, delivery(body, headers))


@pytest.mark.parametrize("provider", SIGNING_IDS)
@given(body=signable_bodies, extra=st.binary(min_size=1, max_size=16), position=st.integers(0))
def test_a_changed_body_is_rejected(provider, body, extra, position):
    body = _form_safe(provider, body)
    headers, content_type = signed(provider, body)
    verify(provider, delivery(body, headers, content_type=content_type))  # the original passes

    cut = position % (len(body) + 1)
    tampered = _form_safe(provider, body[:cut] + extra + body[cut:])
    assume(tampered != body)
    # Twilio signs the decoded form parameters, not the bytes: "a=1" and "a=1&" are one form.
    assume(not CASES[provider].form_body or form_of(tampered) != form_of(body))

    with pytest.raises(DeliveryRejected):
        verify(provider, delivery(tampered, headers, content_type=content_type))


@pytest.mark.parametrize("provider", SIGNING_IDS)
@given(body=signable_bodies, data=st.data())
def test_a_truncated_or_replaced_signature_is_rejected(provider, body, data):
    body = _form_safe(provider, body)
    case = CASES[provider]
    headers, content_type = signed(provider, body)
    original = headers[case.signature_header]
    replacement = data.draw(
        st.one_of(
            # Truncated by at least 4 characters: at least 2 bytes of the signature are gone.
            # Drawn as a share of the length: ECDSA signatures differ in length between runs,
            # and Hypothesis needs the same draws to mean the same thing when it replays.
            st.integers(0, 1000).map(lambda k: original[: k * (len(original) - 4) // 1000]),
            header_text,
        )
    )
    assume(replacement.strip() != original)

    with pytest.raises(DeliveryRejected):
        verify(
            provider,
            delivery(
                body, {**headers, case.signature_header: replacement}, content_type=content_type
            ),
        )


@pytest.mark.parametrize("provider", SIGNING_IDS)
@given(body=signable_bodies, separator=st.sampled_from([",", ", "]))
def test_a_repeated_signature_header_value_is_rejected(provider, body, separator):
    body = _form_safe(provider, body)
    case = CASES[provider]
    headers, content_type = signed(provider, body)
    value = headers[case.signature_header]
    # Standard Webhooks separates signatures by whitespace: "<sig>, <sig>" holds a valid one.
    assume(not (provider == "standard" and " " in separator))
    # Paddle's elements are `;`-separated: repeating the value repeats its `ts` element.
    if getattr(get_provider(provider), "signature_separator", ",") == ";":
        separator = ";"

    with pytest.raises(DeliveryRejected):
        verify(
            provider,
            delivery(
                body,
                {**headers, case.signature_header: f"{value}{separator}{value}"},
                content_type=content_type,
            ),
        )


@pytest.mark.parametrize(
    "provider", [p for p in SIGNING_IDS if CASES[p].accepts_space_separated_signatures]
)
@given(body=signable_bodies, noise=st.text(alphabet="0123456789abcdef", max_size=64))
def test_extra_signatures_next_to_a_valid_one_are_allowed_where_the_scheme_says(
    provider, body, noise
):
    """Stripe (several `v1`) and Standard Webhooks (several `v1,<sig>`) allow this."""
    case = CASES[provider]
    headers, content_type = signed(provider, body)
    value = headers[case.signature_header]
    extra = "v1=" + noise if provider == "stripe" else "v1," + noise

    verify(
        provider,
        delivery(
            body,
            {
                **headers,
                case.signature_header: f"{value},{extra}"
                if provider == "stripe"
                else f"{extra} {value}",
            },
            content_type=content_type,
        ),
    )


@pytest.mark.parametrize("provider", [p for p in SIGNING_IDS if CASES[p].set_timestamp])
@given(body=signable_bodies, timestamp=bad_timestamps)
def test_a_bad_timestamp_is_rejected(provider, body, timestamp):
    case = CASES[provider]
    assert case.set_timestamp is not None
    headers, content_type = signed(provider, body)

    with pytest.raises(DeliveryRejected):
        verify(
            provider,
            delivery(body, case.set_timestamp(headers, timestamp), content_type=content_type),
        )


@pytest.mark.parametrize("provider", [p for p in SIGNING_IDS if CASES[p].set_timestamp])
@given(body=signable_bodies, beyond=st.integers(min_value=5, max_value=10**9))
def test_a_validly_signed_but_stale_or_future_delivery_is_rejected(provider, body, beyond):
    case = CASES[provider]
    skew = case.tolerance + beyond
    for moment in (int(time.time()) - skew, int(time.time()) + skew):
        request = case.sign(body, url=URL, timestamp=moment)

        with pytest.raises(DeliveryRejected):
            verify(
                provider,
                delivery(body, dict(request.headers), content_type=request.content_type),
            )


@pytest.mark.parametrize("provider", SIGNING_IDS)
@given(body=bodies)
def test_a_signed_random_body_parses_to_storable_events_or_is_malformed(provider, body):
    body = _form_safe(provider, body)
    headers, content_type = signed(provider, body)
    incoming = delivery(body, headers, content_type=content_type)
    verify(provider, incoming)

    try:
        events = get_provider(provider).parse(incoming, CASES[provider].secrets)
    except DeliveryRejected:
        return
    assert events
    for event in events:
        assert isinstance(event, ParsedEvent)
        assert 0 < len(event.event_id) <= 255
        assert isinstance(event.body, bytes)
