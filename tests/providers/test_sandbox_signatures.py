"""Each sandbox provider's own notification signature: what it signs verifies, and a forged,
tampered, stale or unsigned notification raises InvalidNotification."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sandbox_support import create_checkout, payment

from kadosei.providers.base import InvalidNotification
from kadosei.providers.registry import get_provider
from kadosei.sandbox.schemes import build_notification

STALE = int(time.time()) - 3600


def _failed_payment(db, name):
    provider = get_provider(name)
    row = payment(db, create_checkout(db, provider))
    row.status, row.failure_code, row.failure_message = "failed", "card_declined", "Declined."
    db.session.commit()
    return provider, row


def _tamper(body: bytes) -> bytes:
    return body.replace(b"card_declined", b"card_approved")


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_a_notification_signed_by_the_provider_verifies(db, name):
    provider, row = _failed_payment(db, name)
    body, headers = build_notification(row)
    reported = provider.parse_notification(body, headers)
    assert reported.provider_reference == row.id
    assert reported.status == "failed"
    assert reported.failure_code == "card_declined"
    assert reported.failure_message == "Declined."


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_headers_are_matched_whatever_their_case(db, name):
    provider, row = _failed_payment(db, name)
    body, headers = build_notification(row)
    lowered = {key.lower(): value for key, value in headers.items()}
    assert provider.parse_notification(body, lowered).status == "failed"


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_a_tampered_body_is_refused(db, name):
    provider, row = _failed_payment(db, name)
    body, headers = build_notification(row)
    with pytest.raises(InvalidNotification):
        provider.parse_notification(_tamper(body), headers)


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_another_providers_signature_is_refused(db, name):
    """Each provider has its own secret: Lumen's signature scheme with Orbit's name fails."""
    _, row = _failed_payment(db, name)
    body, headers = build_notification(row)
    for other in ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit"):
        if other != name:
            with pytest.raises(InvalidNotification):
                get_provider(other).parse_notification(body, headers)


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_a_signature_made_with_another_secret_is_refused(app, db, name):
    provider, row = _failed_payment(db, name)
    app.config["SANDBOX_SIGNING_SECRETS"] = {name: "an-attackers-guess"}
    body, headers = build_notification(row)
    app.config["SANDBOX_SIGNING_SECRETS"] = {}
    with pytest.raises(InvalidNotification):
        provider.parse_notification(body, headers)


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_garbage_bodies_are_refused_without_crashing(db, name):
    provider, row = _failed_payment(db, name)
    _, headers = build_notification(row)
    for body in (b"", b"not json", b"[]", b'{"data": "x"}', b'{"notificationItems": [1]}'):
        with pytest.raises(InvalidNotification):
            provider.parse_notification(body, headers)


def test_lumen_refuses_a_missing_or_malformed_header(db):
    provider, row = _failed_payment(db, "sandbox_lumen")
    body, headers = build_notification(row)
    with pytest.raises(InvalidNotification, match="missing"):
        provider.parse_notification(body, {})
    for bad in ("", "v1=abc", "t=123", "t=abc,v1=00", headers["Lumen-Signature"] + "0"):
        with pytest.raises(InvalidNotification):
            provider.parse_notification(body, {"Lumen-Signature": bad})


@pytest.mark.parametrize(
    "bad",
    [
        "t=" + "9" * 5000 + ",v1=00",  # int() refuses more than 4300 digits
        "t=" + "9" * 400 + ",v1=00",  # too large for a float to compare with the clock
        "t=\u00b2,v1=00",  # isdigit() says yes, int() says no
        "t=\u0663,v1=00",  # an Arabic-Indic three
        "t=1,v1=\u00e9",  # compare_digest refuses non-ASCII text
        "t=1,v1=\ud800",
    ],
)
def test_lumen_refuses_a_header_no_integer_or_digest_can_be_read_from(db, bad):
    provider, row = _failed_payment(db, "sandbox_lumen")
    body, _ = build_notification(row)
    with pytest.raises(InvalidNotification):
        provider.parse_notification(body, {"Lumen-Signature": bad})


def test_orbit_refuses_a_non_ascii_signature(db):
    provider, row = _failed_payment(db, "sandbox_orbit")
    body, _ = build_notification(row)
    for bad in ("\u00e9", "\ud800", "\u0663"):
        with pytest.raises(InvalidNotification):
            provider.parse_notification(body, {"X-Orbit-Signature": bad})


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_a_signed_notification_with_fields_of_the_wrong_type_is_refused(db, name):
    """Signed by the provider, yet a list where a word belongs: refused, never a TypeError."""
    provider, row = _failed_payment(db, name)
    body, _ = build_notification(row)
    wrong = body.replace(b'"failed"', b'["failed"]').replace(b'"DECLINED"', b'["DECLINED"]')
    wrong = wrong.replace(b'"AUTHORISATION"', b'["AUTHORISATION"]')
    assert wrong != body
    with pytest.raises(InvalidNotification, match=r"payment|event"):
        provider.parse_notification(*_signed(provider, wrong))


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_orbit"])
def test_a_signed_failure_code_that_is_not_text_is_reported_as_none(db, name):
    """Found by tests/fuzz: a list as Lumen's failure_code came back as the report's code."""
    provider, row = _failed_payment(db, name)
    body, _ = build_notification(row)
    wrong = body.replace(b'"card_declined"', b'["card_declined"]')
    wrong = wrong.replace(b'"Declined."', b'{"text": "Declined."}')

    reported = provider.parse_notification(*_signed(provider, wrong))

    assert reported.status == "failed"
    assert (reported.failure_code, reported.failure_message) == (None, None)


def test_a_signed_notification_with_a_huge_sent_at_is_stale(db):
    provider, row = _failed_payment(db, "sandbox_orbit")
    message = json.loads(build_notification(row)[0])
    message["sent_at"] = 10**400
    body = json.dumps(message).encode()
    with pytest.raises(InvalidNotification, match="tolerance"):
        provider.parse_notification(body, {"X-Orbit-Signature": provider.signature(body)})


def _signed(provider, body: bytes) -> tuple[bytes, dict[str, str]]:
    """``body`` signed as ``provider`` signs (Harbor inside the body, the others a header)."""
    if provider.name == "sandbox_lumen":
        return body, {"Lumen-Signature": provider.signature_header(body, int(time.time()))}
    if provider.name == "sandbox_orbit":
        return body, {"X-Orbit-Signature": provider.signature(body)}
    message = json.loads(body)
    item = message["notificationItems"][0]["NotificationRequestItem"]
    item["additionalData"]["hmacSignature"] = provider.item_signature(item)
    return json.dumps(message).encode(), {}


def test_lumen_refuses_a_stale_signature(db):
    provider, row = _failed_payment(db, "sandbox_lumen")
    body, _ = build_notification(row)
    stale = {"Lumen-Signature": provider.signature_header(body, STALE)}
    with pytest.raises(InvalidNotification, match="tolerance"):
        provider.parse_notification(body, stale)


def test_lumen_accepts_any_of_several_v1_signatures_during_a_secret_roll(db):
    provider, row = _failed_payment(db, "sandbox_lumen")
    body, headers = build_notification(row)
    rolled = headers["Lumen-Signature"].replace("t=", "v1=deadbeef,t=", 1)
    assert provider.parse_notification(body, {"Lumen-Signature": rolled}).status == "failed"


def test_orbit_refuses_a_missing_header(db):
    provider, row = _failed_payment(db, "sandbox_orbit")
    body, _ = build_notification(row)
    with pytest.raises(InvalidNotification, match="missing"):
        provider.parse_notification(body, {})


def test_orbit_refuses_a_stale_sent_at_even_when_signed(db):
    provider, row = _failed_payment(db, "sandbox_orbit")
    body, _ = build_notification(row)
    message = json.loads(body)
    message["sent_at"] = STALE
    stale_body = json.dumps(message).encode()
    headers = {"X-Orbit-Signature": provider.signature(stale_body)}
    with pytest.raises(InvalidNotification, match="tolerance"):
        provider.parse_notification(stale_body, headers)


def test_harbor_refuses_an_item_without_its_hmac_signature(db):
    provider, row = _failed_payment(db, "sandbox_harbor")
    body, headers = build_notification(row)
    message = json.loads(body)
    del message["notificationItems"][0]["NotificationRequestItem"]["additionalData"]
    with pytest.raises(InvalidNotification, match="hmacSignature"):
        provider.parse_notification(json.dumps(message).encode(), headers)


def test_harbor_refuses_a_stale_event_date_even_when_signed(db):
    provider, row = _failed_payment(db, "sandbox_harbor")
    body, headers = build_notification(row)
    message = json.loads(body)
    item = message["notificationItems"][0]["NotificationRequestItem"]
    item["eventDate"] = datetime.fromtimestamp(STALE, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    item["additionalData"]["hmacSignature"] = provider.item_signature(item)
    with pytest.raises(InvalidNotification, match="tolerance"):
        provider.parse_notification(json.dumps(message).encode(), headers)


def test_harbor_reports_its_event_codes_in_kadoseis_words(db):
    provider, row = _failed_payment(db, "sandbox_harbor")
    for status in ("processing", "succeeded", "canceled", "expired"):
        row.status, row.failure_code, row.failure_message = status, None, None
        body, headers = build_notification(row)
        reported = provider.parse_notification(body, headers)
        assert (reported.status, reported.failure_code) == (status, None)
