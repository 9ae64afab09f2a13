"""The Stripe adapter with the real SDK against the protocol fake (tests/fakes/stripe_api.py)."""

from __future__ import annotations

import json
import logging
import time

import pytest

from kadosei.providers.base import (
    InvalidNotification,
    PaymentStatus,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
    RefundRequest,
    RefundStatus,
)
from kadosei.providers.stripe import DECLINES, StripeProvider, intent_status, session_status
from tests.fakes import fixtures as fake_psps
from tests.providers.sandbox_support import checkout_request

stripe_api = fake_psps.stripe_api


def account_for(fake, **fields) -> ProviderAccount:
    values = {
        "name": "stripe_eu",
        "type": "stripe",
        "mode": "live",
        "credentials": {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret},
        "api_base": fake.url,
        "timeout_seconds": 2.0,
    }
    values.update(fields)
    return ProviderAccount(**values)


@pytest.fixture
def stripe_eu(stripe_api):
    stripe_api.notification_url = "http://127.0.0.1:9/held"
    stripe_api.hold_notifications = True  # the tests hand them to the adapter themselves
    return StripeProvider(account_for(stripe_api))


def facts_of(provider, fake, event_type):
    """What the adapter reads from the fake's last ``event_type`` notification."""
    sent = [n for n in fake.notifications if json.loads(n.body)["type"] == event_type]
    assert sent, f"no {event_type} sent"
    return provider.read_notification(sent[-1].body, sent[-1].headers)


def create(provider, **kw):
    return provider.create_checkout(checkout_request(mode="live", **kw))


def test_create_pay_and_the_signed_notification(stripe_eu, stripe_api):
    result = create(stripe_eu, amount=1999, currency="EUR", reference="order-1")
    assert result.provider_reference.startswith("cs_")
    assert result.hosted_url == f"{stripe_api.url}/pay/{result.provider_reference}"
    sent = stripe_api.requests_to("POST", "/v1/checkout/sessions")[-1]
    assert sent.body["mode"] == "payment" and sent.body["payment_method_types"] == ["card"]
    assert sent.body["line_items"][0]["price_data"]["unit_amount"] == "1999"
    assert sent.headers["Idempotency-Key"].startswith("kadosei-pa_")
    assert stripe_eu.get_status(result.provider_reference).status == "pending"

    stripe_api.pay(result.provider_reference)
    [fact] = facts_of(stripe_eu, stripe_api, "checkout.session.completed")
    assert fact.provider_reference == result.provider_reference
    assert (fact.status, fact.amount_captured) == ("succeeded", 1999)
    assert stripe_eu.get_status(result.provider_reference).status == "succeeded"
    # An event kadosei does not act on is verified and acknowledged with no facts.
    assert facts_of(stripe_eu, stripe_api, "payment_intent.succeeded") == []


@pytest.mark.parametrize(
    ("card", "code", "retry"),
    [
        ("4000000000000002", "card_declined", True),
        ("4000000000009995", "insufficient_funds", False),
    ],
)
def test_a_decline_while_the_page_stays_open(stripe_eu, stripe_api, card, code, retry):
    result = create(stripe_eu)
    stripe_api.pay(result.provider_reference, card)
    [fact] = facts_of(stripe_eu, stripe_api, "payment_intent.payment_failed")
    assert (fact.provider_reference, fact.status) == (result.provider_reference, "failed")
    assert (fact.failure_code, fact.retry_elsewhere) == (code, retry)
    status = stripe_eu.get_status(result.provider_reference)
    assert (status.status, status.failure_code) == ("failed", code)


def test_processing_then_settled_or_failed(stripe_eu, stripe_api):
    result = create(stripe_eu)
    stripe_api.pay(result.provider_reference, "4000000000000259")
    [fact] = facts_of(stripe_eu, stripe_api, "checkout.session.completed")
    assert fact.status == "processing"
    stripe_api.settle(result.provider_reference, succeeded=False)
    [fact] = facts_of(stripe_eu, stripe_api, "checkout.session.async_payment_failed")
    assert (fact.status, fact.failure_code) == ("failed", "card_declined")

    other = create(stripe_eu)
    stripe_api.pay(other.provider_reference, "4000000000000259")
    stripe_api.settle(other.provider_reference)
    [fact] = facts_of(stripe_eu, stripe_api, "checkout.session.async_payment_succeeded")
    assert (fact.provider_reference, fact.status) == (other.provider_reference, "succeeded")


def test_customer_cancel_leaves_the_checkout_pending_until_it_expires(stripe_eu, stripe_api):
    result = create(stripe_eu, return_url="https://kadosei.test/return/pa_1")
    session = stripe_api.sessions[result.provider_reference]
    assert session["cancel_url"] == "https://kadosei.test/return/pa_1?canceled=1"  # way back
    assert stripe_eu.get_status(result.provider_reference).status == "pending"
    stripe_api.expire(result.provider_reference)
    [fact] = facts_of(stripe_eu, stripe_api, "checkout.session.expired")
    assert fact.status == "expired"


def test_back_through_the_cancel_link_the_checkout_is_ended_and_canceled(stripe_eu, stripe_api):
    result = create(stripe_eu)
    reference = result.provider_reference

    assert stripe_eu.status_on_return(reference, {}).status == "pending"  # the return link
    assert stripe_eu.status_on_return(reference, {"canceled": "1"}).status == "canceled"
    assert stripe_api.sessions[reference]["status"] == "expired"  # cannot be paid any more
    paid = create(stripe_eu)
    stripe_api.pay(paid.provider_reference)
    # A paid checkout stays paid, whatever link the customer came back through.
    assert stripe_eu.status_on_return(paid.provider_reference, {"canceled": "1"}).status == (
        "succeeded"
    )


def test_expire_checkout(stripe_eu, stripe_api):
    result = create(stripe_eu)
    assert stripe_eu.expire_checkout(result.provider_reference).status == "expired"
    assert stripe_eu.expire_checkout(result.provider_reference).status == "expired"
    paid = create(stripe_eu)
    stripe_api.pay(paid.provider_reference)
    # Too late to end: the payment is reported (its notification may have been lost).
    assert stripe_eu.expire_checkout(paid.provider_reference).status == "succeeded"


def test_forged_and_stale_notifications_are_refused(stripe_eu, stripe_api):
    result = create(stripe_eu)
    stripe_api.pay(result.provider_reference)
    sent = next(n for n in stripe_api.notifications if b"checkout.session.completed" in n.body)
    forged_body = sent.body.replace(b'"paid"', b'"unpaid"')
    with pytest.raises(InvalidNotification):
        stripe_eu.read_notification(forged_body, sent.headers)
    wrong_key = {"Stripe-Signature": stripe_api.signature(sent.body, secret="whsec_forged")}
    with pytest.raises(InvalidNotification):
        stripe_eu.read_notification(sent.body, wrong_key)
    stale = {"Stripe-Signature": stripe_api.signature(sent.body, int(time.time()) - 3600)}
    with pytest.raises(InvalidNotification):
        stripe_eu.read_notification(sent.body, stale)
    for body, headers in [(sent.body, {}), (b"not json", {"Stripe-Signature": "t=1,v1=x"})]:
        with pytest.raises(InvalidNotification):
            stripe_eu.read_notification(body, headers)
    not_an_event = b'{"type": 1}'
    with pytest.raises(InvalidNotification):
        stripe_eu.read_notification(
            not_an_event, {"stripe-signature": stripe_api.signature(not_an_event)}
        )
    # The same event twice reads the same (kadosei's state machine ignores the repeat).
    assert stripe_eu.read_notification(sent.body, sent.headers) == stripe_eu.read_notification(
        sent.body, sent.headers
    )


def test_5xx_timeout_and_4xx_at_creation(stripe_eu, stripe_api):
    stripe_api.fail_next(500)
    with pytest.raises(ProviderError) as caught:
        create(stripe_eu)
    assert not isinstance(caught.value, ProviderBadRequest | ProviderTimeout)
    stripe_api.fail_next(400, message="Invalid request.")
    with pytest.raises(ProviderBadRequest):
        create(stripe_eu)
    fast = StripeProvider(account_for(stripe_api, timeout_seconds=0.3))
    stripe_api.hang_next(1.5)
    with pytest.raises(ProviderTimeout):
        create(fast)
    assert len(stripe_api.requests_to("POST", "/v1/checkout/sessions")) == 3  # no SDK retries


def test_an_auth_error_never_shows_the_key(stripe_api, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "sk_live_" + "x9" * 20
    wrong = StripeProvider(
        account_for(stripe_api, credentials={"secret_key": secret, "webhook_secret": "whsec_1"})
    )
    with pytest.raises(ProviderError) as caught:
        create(wrong)
    for text in (str(caught.value), repr(caught.value), caplog.text, repr(wrong)):
        assert secret not in text and secret[-4:] not in text
    assert "401" in str(caught.value)


@pytest.mark.parametrize(
    ("currency", "amount", "wire"),
    [("EUR", 1999, "1999"), ("JPY", 500, "500"), ("KWD", 1230, "1230")],
)
def test_amounts_on_the_wire(stripe_eu, stripe_api, currency, amount, wire):
    create(stripe_eu, currency=currency, amount=amount)
    price = stripe_api.requests_to("POST", "/v1/checkout/sessions")[-1].body["line_items"][0]
    assert price["price_data"] == {
        "currency": currency.lower(),
        "unit_amount": wire,
        "product_data": {"name": "Payment"},
    }


def test_three_decimal_amounts_must_end_in_zero(stripe_eu, stripe_api):
    assert stripe_eu.amount_ineligible_reason(1234, "KWD") is not None
    assert stripe_eu.amount_ineligible_reason(1230, "KWD") is None
    assert stripe_eu.amount_ineligible_reason(1234, "EUR") is None
    with pytest.raises(ProviderBadRequest):
        create(stripe_eu, currency="KWD", amount=1234)
    assert stripe_api.requests_to("POST", "/v1/checkout/sessions") == []


def test_capabilities_defaults_and_overrides(stripe_api):
    default = StripeProvider(account_for(stripe_api))
    assert default.supports("live", "ideal", "EUR") and not default.supports("live", "ideal", "USD")
    assert not default.supports("test", "card", "EUR")  # a live account serves live mode only
    assert default.ineligible_reason("live", "card", "XOF") is not None
    assert default.capabilities().fees["card"].percent == 1.5
    narrowed = StripeProvider(account_for(stripe_api, mode="test", methods=frozenset({"card"})))
    assert narrowed.supports("test", "card", "EUR") and not narrowed.supports(
        "test", "ideal", "EUR"
    )


def test_manual_capture_void_refund(stripe_eu, stripe_api):
    held = create(stripe_eu, capture_method="manual", amount=5000)
    stripe_api.pay(held.provider_reference)
    assert stripe_eu.get_status(held.provider_reference).status == "authorized"
    captured = stripe_eu.capture(held.provider_reference, 4000, "EUR", idempotency_key="cap-1")
    assert (captured.status, captured.amount_captured) == ("succeeded", 4000)

    other = create(stripe_eu, capture_method="manual")
    stripe_api.pay(other.provider_reference)
    assert stripe_eu.void(other.provider_reference, idempotency_key="void-1").status == "canceled"

    refund = stripe_eu.refund(
        RefundRequest("re_kadosei1", held.provider_reference, 1500, "EUR", "requested_by_customer")
    )
    assert (refund.status, refund.refund_id) == ("succeeded", "re_kadosei1")
    again = stripe_eu.get_refund(held.provider_reference, refund.provider_refund_reference)
    assert again.status == "succeeded" and again.provider_reference.startswith("pi_")
    [fact] = facts_of(stripe_eu, stripe_api, "refund.created")
    assert isinstance(fact, RefundStatus) and fact.refund_id == "re_kadosei1"


def test_a_refund_that_fails_later(stripe_eu, stripe_api):
    stripe_api.refunds_settle_later = True
    paid = create(stripe_eu)
    stripe_api.pay(paid.provider_reference)
    refund = stripe_eu.refund(RefundRequest("re_k2", paid.provider_reference, 100, "EUR"))
    assert refund.status == "pending"
    stripe_api.settle_refund(refund.provider_refund_reference, succeeded=False)
    [fact] = facts_of(stripe_eu, stripe_api, "refund.updated")
    assert (fact.status, fact.failure_code) == ("failed", "refund_failed")


@pytest.mark.parametrize("code", sorted(DECLINES))
def test_every_decline_row(code):
    error = {"code": "card_declined", "decline_code": code}
    status = intent_status(
        "cs_1", {"status": "requires_payment_method", "last_payment_error": error}
    )
    row = DECLINES[code]
    assert (status.status, status.failure_code, status.retry_elsewhere) == (
        "failed",
        row.code,
        row.retry_elsewhere,
    )
    assert status.failure_message == row.message


@pytest.mark.parametrize(
    ("session", "intent", "expected"),
    [
        ({"status": "open"}, None, "pending"),
        ({"status": "expired"}, None, "expired"),
        ({"status": "complete", "payment_status": "paid"}, None, "succeeded"),
        (
            {"status": "complete", "payment_status": "unpaid"},
            {"status": "processing"},
            "processing",
        ),
        (
            {"status": "complete", "payment_status": "unpaid"},
            {"status": "requires_capture"},
            "authorized",
        ),
        ({"status": "complete", "payment_status": "unpaid"}, {"status": "canceled"}, "canceled"),
        (
            {"status": "complete", "payment_status": "unpaid"},
            {"status": "requires_action"},
            "pending",
        ),
        ({"status": "complete", "payment_status": "unpaid"}, None, "processing"),
    ],
)
def test_every_status_row(session, intent, expected):
    status = session_status({"id": "cs_1", **session, "payment_intent": intent})
    assert isinstance(status, PaymentStatus) and status.status == expected
    with pytest.raises(ProviderError):
        session_status({"id": "cs_1", "status": "strange"})
