"""Fuzzing every sandbox provider's notification verification and parsing (issue 9, defect 2):
whatever headers and body arrive, the only outcome is ``InvalidNotification`` (a 400 that
changes nothing) or a well-typed report; and what the provider itself signs still verifies."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fuzz_support import ANY_TEXT, PLAIN_TEXT, deep_json, fuzz, json_values, mangled
from hypothesis import given
from hypothesis import strategies as st

from kadosei.models import ProviderNotification
from kadosei.providers.base import PROVIDER_STATUSES, InvalidNotification, PaymentStatus
from kadosei.providers.registry import get_provider
from kadosei.sandbox.models import SANDBOX_PAYMENT_STATUSES, SandboxPayment
from kadosei.sandbox.schemes import HARBOR_EVENTS, build_notification

PROVIDERS = ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"]
SIGNATURE_HEADERS = ["Lumen-Signature", "lumen-signature", "X-Orbit-Signature", "Content-Type"]
# Digits as Unicode knows them: isdigit() says yes to each, int() to only some.
DIGITS = "0123456789²³¹٣۳߃०〇"

TIMESTAMPS = st.one_of(
    st.integers(min_value=0, max_value=6000).map(lambda n: "9" * n),
    st.text(alphabet=DIGITS, max_size=30),
    st.integers().map(str),
    st.just(str(int(time.time()))),
)
LUMEN_HEADERS = st.builds(
    lambda t, signatures, tail: f"t={t}," + ",".join(f"v1={s}" for s in signatures) + tail,
    TIMESTAMPS,
    st.lists(st.text(alphabet="0123456789abcdef") | ANY_TEXT, max_size=3),
    st.sampled_from(["", ",", ",t=", ",v1", ",,==", ",t=1"]),
)
HEADER_VALUES = st.one_of(ANY_TEXT, LUMEN_HEADERS, TIMESTAMPS)
HEADERS = st.dictionaries(
    st.sampled_from(SIGNATURE_HEADERS) | PLAIN_TEXT, HEADER_VALUES, max_size=3
)
BODIES = st.one_of(
    st.binary(max_size=200),
    json_values().map(lambda value: json.dumps(value).encode()),
    deep_json().map(lambda text: ('{"notificationItems": [' + text + "]}").encode()),
    deep_json().map(lambda text: text.encode()),
    json_values()
    .map(json.dumps)
    .flatmap(mangled)
    .map(lambda t: t.encode("utf-8", "surrogatepass")),
)
# What the sandbox itself puts in a notification: its ids, codes and readable messages.
IDS = st.from_regex(r"\A[a-z]{2,4}_[0-9A-Za-z]{8,24}\Z")
CODES = st.from_regex(r"\A[a-z][a-z_]{0,40}\Z")
MESSAGES = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60)


def _only_invalid_or_well_typed(provider, body: bytes, headers: dict) -> None:
    try:
        reported = provider.parse_notification(body, headers)
    except InvalidNotification:
        return
    assert isinstance(reported, PaymentStatus)
    assert isinstance(reported.provider_reference, str)
    assert reported.status in PROVIDER_STATUSES
    assert reported.failure_code is None or isinstance(reported.failure_code, str)
    assert reported.failure_message is None or isinstance(reported.failure_message, str)


@pytest.mark.parametrize("name", PROVIDERS)
@fuzz(80)
@given(body=BODIES, headers=HEADERS)
def test_any_headers_and_body_are_refused_as_invalid_and_nothing_else(app, name, body, headers):
    _only_invalid_or_well_typed(get_provider(name), body, headers)


@pytest.mark.parametrize("name", PROVIDERS)
@fuzz(50)
@given(
    reference=IDS,
    attempt_id=IDS,
    status=st.sampled_from(SANDBOX_PAYMENT_STATUSES),
    amount=st.integers(min_value=1, max_value=99_999_999),
    currency=st.sampled_from(["EUR", "USD", "JPY", "GBP"]),
    code=CODES,
    message=MESSAGES,
)
def test_what_the_provider_signs_still_verifies(
    app, name, reference, attempt_id, status, amount, currency, code, message
):
    provider = get_provider(name)
    failed = status == "failed"
    payment = SandboxPayment(
        id=reference,
        provider=name,
        attempt_id=attempt_id,
        amount=amount,
        currency=currency,
        status=status,
        failure_code=code if failed else None,
        failure_message=message if failed else None,
    )
    if name == "sandbox_harbor" and status not in HARBOR_EVENTS:
        return  # Harbor, like Adyen, sends nothing for a payment not yet begun

    reported = provider.parse_notification(*build_notification(payment))

    assert (reported.provider_reference, reported.status) == (reference, status)
    assert reported.failure_code == (code if failed else None)
    if name == "sandbox_harbor":  # its reason field is "code: message", trimmed
        assert reported.failure_message == ((message.strip() or None) if failed else None)
    else:
        assert reported.failure_message == (message if failed else None)


OBJECTS = st.dictionaries(PLAIN_TEXT | ANY_TEXT, json_values(), max_size=6)
WORDS = st.sampled_from(
    ["failed", "succeeded", "DECLINED", "CAPTURED", "AUTHORISATION", "true", "false"]
)
FIELD_VALUES = json_values() | WORDS


@fuzz(50)
@given(payment=st.dictionaries(st.sampled_from(["id", "status", "failure_code"]), FIELD_VALUES))
def test_a_signed_lumen_event_of_any_shape_is_refused_or_well_typed(app, payment):
    provider = get_provider("sandbox_lumen")
    body = json.dumps({"data": {"object": payment}}).encode()
    headers = {"Lumen-Signature": provider.signature_header(body, int(time.time()))}

    _only_invalid_or_well_typed(provider, body, headers)


@fuzz(50)
@given(
    payment=st.dictionaries(
        st.sampled_from(["reference", "state", "decline_code", "decline_reason"]), FIELD_VALUES
    ),
    sent_at=st.integers() | st.just(int(time.time())) | json_values(),
)
def test_a_signed_orbit_message_of_any_shape_is_refused_or_well_typed(app, payment, sent_at):
    provider = get_provider("sandbox_orbit")
    body = json.dumps({"sent_at": sent_at, "payment": payment}).encode()

    _only_invalid_or_well_typed(provider, body, {"X-Orbit-Signature": provider.signature(body)})


@fuzz(50)
@given(
    item=st.dictionaries(
        st.sampled_from(["pspReference", "eventCode", "success", "reason", "amount", "eventDate"]),
        FIELD_VALUES,
    ),
    fresh=st.booleans(),
)
def test_a_signed_harbor_item_of_any_shape_is_refused_or_well_typed(app, item, fresh):
    provider = get_provider("sandbox_harbor")
    if fresh:
        item["eventDate"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    item = json.loads(json.dumps(item))
    item["additionalData"] = {"hmacSignature": provider.item_signature(item)}
    body = json.dumps({"notificationItems": [{"NotificationRequestItem": item}]}).encode()

    _only_invalid_or_well_typed(provider, body, {})


# Header values as HTTP carries them: latin-1 text without line breaks.
HTTP_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
HTTP_HEADERS = st.dictionaries(
    st.sampled_from(SIGNATURE_HEADERS),
    HTTP_TEXT | TIMESTAMPS.map(lambda t: f"t={t},v1=00"),
    max_size=2,
)


@pytest.mark.parametrize("name", PROVIDERS)
@fuzz(20)
@given(body=BODIES, headers=HTTP_HEADERS)
def test_the_notification_route_answers_400_and_records_nothing(client, name, body, headers):
    response = client.post(f"/providers/{name}/notifications", data=body, headers=headers)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "notification_invalid"
    assert ProviderNotification.query.count() == 0
