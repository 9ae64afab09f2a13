"""The Stripe fake speaks Stripe's protocol as the official SDK sends and reads it."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

import pytest
import requests
import stripe

from tests.fakes.stripe_form import decode_form

SUCCESS_URL = "https://shop.example/return?cs={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://shop.example/cancel"


def create_session(client, amount=1000, currency="eur", **extra):
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": "Order 42"},
                },
                "quantity": 1,
            }
        ],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "metadata": {"kadosei_session": "ses_42"},
        **extra,
    }
    return client.v1.checkout.sessions.create(params=params)


def events_at(sink, secret):
    """Every notification the sink got, verified by the SDK's own webhook verifier."""
    return [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], secret)
        for r in sink.received
    ]


@pytest.fixture
def listening(stripe_api, notification_sink):
    stripe_api.notification_url = notification_sink.endpoint
    return notification_sink


def test_checkout_road_create_page_pay_and_signed_completion(stripe_api, stripe_client, listening):
    session = create_session(stripe_client)

    sent = stripe_api.requests_to("POST", "/v1/checkout/sessions")[0]
    assert sent.header("Authorization") == f"Bearer {stripe_api.secret_key}"
    assert sent.header("Content-Type") == "application/x-www-form-urlencoded"
    assert sent.header("Idempotency-Key")
    assert ("line_items[0][price_data][unit_amount]", "1000") in parse_qsl(sent.raw_body.decode())
    assert sent.body["line_items"][0]["price_data"]["product_data"]["name"] == "Order 42"
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.amount_total == 1000 and session.payment_intent is None

    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200 and "card_number" in page.text and CANCEL_URL in page.text
    paid = requests.post(
        session.url, data={"card_number": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"https://shop.example/return?cs={session.id}"

    events = events_at(listening, stripe_api.webhook_secret)
    assert [e.type for e in events] == ["checkout.session.completed", "payment_intent.succeeded"]
    assert events[0].data.object.id == session.id
    assert events[0].data.object.metadata["kadosei_session"] == "ses_42"
    fetched = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert fetched.status == "complete" and fetched.payment_status == "paid"
    assert fetched.payment_intent.status == "succeeded"
    assert fetched.payment_intent.amount_received == 1000
    assert stripe_api.requests_to("GET", "/v1/checkout/sessions/")[0].query == {
        "expand[0]": "payment_intent"
    }


def test_declines_keep_the_session_open_and_carry_decline_codes(
    stripe_api, stripe_client, listening
):
    session = create_session(stripe_client)

    assert stripe_api.pay(session.id, "4000000000000002") is None
    assert stripe_api.pay(session.id, "4000000000009995") is None
    stripe_api.decline(session.id, "stolen_card")
    page = requests.post(session.url, data={"card_number": "4000000000000002"}, timeout=5)

    assert page.status_code == 200 and "declined" in page.text
    failures = [
        e.data.object.last_payment_error for e in events_at(listening, stripe_api.webhook_secret)
    ]
    assert [(f.code, f.decline_code) for f in failures] == [
        ("card_declined", "generic_decline"),
        ("card_declined", "insufficient_funds"),
        ("card_declined", "stolen_card"),
        ("card_declined", "generic_decline"),
    ]
    assert {e.type for e in events_at(listening, stripe_api.webhook_secret)} == {
        "payment_intent.payment_failed"
    }
    fetched = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert fetched.status == "open"
    intent = stripe_client.v1.payment_intents.retrieve(fetched.payment_intent)
    assert intent.status == "requires_payment_method"


def test_cancel_link_and_expiry(stripe_api, stripe_client, listening):
    session = create_session(stripe_client)
    page = requests.get(session.url, timeout=5)
    assert f"href='{CANCEL_URL}'" in page.text

    expired = stripe_client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired" and expired.url is None
    assert [e.type for e in events_at(listening, stripe_api.webhook_secret)] == [
        "checkout.session.expired"
    ]
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.checkout.sessions.expire(session.id)
    assert again.value.http_status == 400
    assert stripe_api.pay(session.id) is None  # nothing to pay any more

    timed_out = create_session(stripe_client)
    stripe_api.pay(timed_out.id, "4000000000000002")
    stripe_api.expire(timed_out.id)
    fetched = stripe_client.v1.checkout.sessions.retrieve(
        timed_out.id, params={"expand": ["payment_intent"]}
    )
    assert fetched.status == "expired" and fetched.payment_intent.status == "canceled"


@pytest.mark.parametrize("succeeded", [True, False])
def test_processing_card_completes_unpaid_then_settles(
    stripe_api, stripe_client, listening, succeeded
):
    session = create_session(stripe_client)
    stripe_api.pay(session.id, "4000000000000259")
    fetched = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert (fetched.status, fetched.payment_status) == ("complete", "unpaid")
    assert fetched.payment_intent.status == "processing"

    stripe_api.settle(session.id, succeeded=succeeded)

    types = [e.type for e in events_at(listening, stripe_api.webhook_secret)]
    expected = (
        "checkout.session.async_payment_succeeded"
        if succeeded
        else "checkout.session.async_payment_failed"
    )
    assert types[0] == "checkout.session.completed" and expected in types
    after = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert after.payment_status == ("paid" if succeeded else "unpaid")


def test_manual_capture_then_capture_or_void(stripe_api, stripe_client, listening):
    manual = {"payment_intent_data": {"capture_method": "manual"}}
    captured = create_session(stripe_client, **manual)
    stripe_api.pay(captured.id)
    held = stripe_client.v1.checkout.sessions.retrieve(captured.id)
    assert held.payment_status == "unpaid"
    intent = stripe_client.v1.payment_intents.retrieve(held.payment_intent)
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 1000)

    done = stripe_client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 800})
    assert (done.status, done.amount_received) == ("succeeded", 800)
    with pytest.raises(stripe.InvalidRequestError) as late:
        stripe_client.v1.payment_intents.cancel(intent.id)
    assert late.value.code == "payment_intent_unexpected_state"

    voided = create_session(stripe_client, **manual)
    stripe_api.pay(voided.id)
    intent_id = stripe_client.v1.checkout.sessions.retrieve(voided.id).payment_intent
    canceled = stripe_client.v1.payment_intents.cancel(intent_id)
    assert canceled.status == "canceled"
    assert "payment_intent.canceled" in [
        e.type for e in events_at(listening, stripe_api.webhook_secret)
    ]


def test_open_checkout_intent_cannot_be_canceled(stripe_api, stripe_client):
    session = create_session(stripe_client)
    stripe_api.pay(session.id, "4000000000000002")
    intent_id = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent

    with pytest.raises(stripe.InvalidRequestError, match="Expire the Checkout Session"):
        stripe_client.v1.payment_intents.cancel(intent_id)


def test_refunds_partial_full_too_large_and_failed(stripe_api, stripe_client, listening):
    session = create_session(stripe_client)
    stripe_api.pay(session.id)
    intent_id = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent

    part = stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 300})
    assert (part.status, part.amount, part.payment_intent) == ("succeeded", 300, intent_id)
    assert stripe_client.v1.refunds.retrieve(part.id).amount == 300
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 800})
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    rest = stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    assert rest.amount == 700

    stripe_api.settle_refund(rest.id, succeeded=False, failure_reason="expired_or_canceled_card")

    assert stripe_client.v1.refunds.retrieve(rest.id).status == "failed"
    events = events_at(listening, stripe_api.webhook_secret)
    refunded = [e.data.object for e in events if e.type == "charge.refunded"]
    assert [c.amount_refunded for c in refunded] == [300, 1000]
    assert refunded[-1].refunded is True
    assert events[-1].type == "refund.updated" and events[-1].data.object.status == "failed"


def test_amounts_in_minor_units_for_zero_and_three_decimal_currencies(stripe_client):
    assert create_session(stripe_client, amount=500, currency="jpy").amount_total == 500
    assert create_session(stripe_client, amount=1500, currency="kwd").amount_total == 1500

    with pytest.raises(stripe.InvalidRequestError) as odd:
        create_session(stripe_client, amount=1505, currency="kwd")

    assert odd.value.param == "line_items[0][price_data][unit_amount]"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        create_session(stripe_client, shipping_rate="x")
    assert "Received unknown parameter: shipping_rate" in str(unknown.value)


def test_errors_become_the_sdks_exception_classes(stripe_api, stripe_client):
    wrong_key = stripe.StripeClient(
        "sk_test_wrong", base_addresses={"api": stripe_api.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as refused:
        wrong_key.v1.checkout.sessions.retrieve("cs_test_x")
    assert refused.value.http_status == 401
    assert refused.value.json_body["error"]["type"] == "invalid_request_error"

    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")

    stripe_api.fail_next(402, code="card_declined", decline_code="insufficient_funds")
    with pytest.raises(stripe.CardError) as card:
        create_session(stripe_client)
    assert card.value.code == "card_declined"
    assert card.value.error.decline_code == "insufficient_funds"

    stripe_api.fail_next(500)
    with pytest.raises(stripe.APIError) as broken:
        create_session(stripe_client)
    assert broken.value.http_status == 500
    assert broken.value.json_body["error"]["type"] == "api_error"
    assert create_session(stripe_client).status == "open"  # only the next one failed


def test_a_hang_past_the_timeout_is_a_connection_error(stripe_api, stripe_client):
    stripe_api.hang_next(3)
    started = time.monotonic()

    with pytest.raises(stripe.APIConnectionError):
        create_session(stripe_client)

    assert time.monotonic() - started < 2.5


def test_idempotency_key_replays_the_first_result_and_refuses_other_params(stripe_client):
    options = {"idempotency_key": "order-42-attempt-1"}
    params = {
        "mode": "payment",
        "success_url": SUCCESS_URL,
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1000,
                    "product_data": {"name": "x"},
                },
                "quantity": 1,
            }
        ],
    }
    first = stripe_client.v1.checkout.sessions.create(params=params, options=options)
    again = stripe_client.v1.checkout.sessions.create(params=params, options=options)

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    params["line_items"][0]["quantity"] = 2
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.checkout.sessions.create(params=params, options=options)


def test_forged_stale_and_replayed_events(stripe_api, stripe_client, listening):
    session = create_session(stripe_client)
    stripe_api.pay(session.id)
    original = stripe_api.notifications[0]
    event = json.loads(original.body)

    stripe_api.send_event(event, secret="whsec_not_the_endpoints")
    stripe_api.send_event(event, timestamp=int(time.time()) - 3600)
    stripe_api.redeliver(original)

    forged, stale, replayed = listening.received[-3:]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            forged.body, forged.headers["Stripe-Signature"], stripe_api.webhook_secret
        )
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(
            stale.body, stale.headers["Stripe-Signature"], stripe_api.webhook_secret
        )
    again = stripe.Webhook.construct_event(
        replayed.body, replayed.headers["Stripe-Signature"], stripe_api.webhook_secret
    )
    assert again.id == event["id"] and replayed.body == original.body


def test_held_notifications_wait_and_unsubscribed_types_are_not_sent(
    stripe_api, stripe_client, listening
):
    stripe_api.hold_notifications = True
    stripe_api.subscribed_events = {"checkout.session.completed"}
    session = create_session(stripe_client)
    stripe_api.pay(session.id)
    assert listening.received == []

    sent = stripe_api.deliver_pending()

    assert [json.loads(n.body)["type"] for n in sent] == ["checkout.session.completed"]
    assert sent[0].delivered and len(listening.received) == 1
    assert [e["type"] for e in stripe_api.events] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
    ]


def test_form_decoding_builds_nested_objects_and_lists():
    body = "a[b][0][c]=1&a[b][1][c]=2&expand[]=x&expand[]=y&plain=&m[k]=v"

    assert decode_form(body) == {
        "a": {"b": [{"c": "1"}, {"c": "2"}]},
        "expand": ["x", "y"],
        "plain": "",
        "m": {"k": "v"},
    }


def test_listing_one_session_proves_the_credentials(stripe_api, stripe_client):
    assert list(stripe_client.v1.checkout.sessions.list(params={"limit": 1})) == []
    create_session(stripe_client)
    newest = create_session(stripe_client)

    listed = stripe_client.v1.checkout.sessions.list(params={"limit": 1})

    assert [s.id for s in listed.data] == [newest.id] and listed.has_more is True
