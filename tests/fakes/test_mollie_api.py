"""The Mollie fake speaks the Payments API v2 as mollie-api-python sends and reads it."""

from __future__ import annotations

import json
import time

import pytest
import requests
from mollie.api.error import (
    NotFoundError,
    RequestError,
    ResponseError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from mollie.api.objects.payment import Payment

REDIRECT_URL = "https://shop.example/return/ses_42"
CANCEL_URL = "https://shop.example/cancel/ses_42"


def create_payment(client, webhook_url=None, value="10.00", currency="EUR", **extra):
    data = {
        "amount": {"currency": currency, "value": value},
        "description": "Order 42",
        "redirectUrl": REDIRECT_URL,
        "cancelUrl": CANCEL_URL,
        "metadata": {"kadosei_session": "ses_42"},
        **extra,
    }
    if webhook_url:
        data["webhookUrl"] = webhook_url
    return client.payments.create(data)


def webhook_ids(sink):
    return [r.body.decode() for r in sink.received]


def test_payment_road_create_page_pay_and_id_only_webhook(
    mollie_api, mollie_client, notification_sink
):
    payment = create_payment(mollie_client, notification_sink.endpoint)

    sent = mollie_api.requests_to("POST", "/v2/payments")[0]
    assert sent.header("Authorization") == f"Bearer {mollie_api.api_key}"
    assert sent.header("Content-Type") == "application/json"
    assert sent.body["amount"] == {"currency": "EUR", "value": "10.00"}
    assert payment.status == "open" and payment.is_cancelable is False
    assert payment.checkout_url.startswith(mollie_api.url)

    page = requests.get(payment.checkout_url, timeout=5)
    assert page.status_code == 200 and "card_number" in page.text
    paid = requests.post(
        payment.checkout_url,
        data={"card_number": "4242424242424242"},
        allow_redirects=False,
        timeout=5,
    )
    assert paid.status_code == 303 and paid.headers["Location"] == REDIRECT_URL

    [hook] = notification_sink.received
    assert hook.body == f"id={payment.id}".encode()
    assert hook.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert not any("signature" in name.lower() for name in hook.headers)
    fetched = mollie_client.payments.get(payment.id)
    assert fetched.status == "paid" and fetched.is_paid()
    assert fetched.amount_remaining == {"currency": "EUR", "value": "10.00"}
    assert fetched.checkout_url is None and fetched.metadata == {"kadosei_session": "ses_42"}


def test_a_decline_is_final_with_a_failure_reason(mollie_api, mollie_client, notification_sink):
    first = create_payment(mollie_client, notification_sink.endpoint)
    second = create_payment(mollie_client, notification_sink.endpoint)

    assert mollie_api.pay(first.id, "4000000000009995") == REDIRECT_URL
    mollie_api.decline(second.id, "possible_fraud")

    assert webhook_ids(notification_sink) == [f"id={first.id}", f"id={second.id}"]
    failed = mollie_client.payments.get(first.id)
    assert failed.status == "failed" and failed.is_cancelable is None
    assert failed.details["failureReason"] == "insufficient_funds"
    assert mollie_client.payments.get(second.id).details["failureReason"] == "possible_fraud"
    assert failed.checkout_url is None
    again = requests.get(f"{mollie_api.url}/checkout/{first.id}", timeout=5)
    assert "no longer open" in again.text


def test_customer_cancel_api_cancel_and_expiry(mollie_api, mollie_client, notification_sink):
    left = create_payment(mollie_client, notification_sink.endpoint)
    page = requests.get(left.checkout_url, timeout=5)
    assert f"/checkout/{left.id}/cancel" in page.text

    back = requests.get(
        f"{mollie_api.url}/checkout/{left.id}/cancel", allow_redirects=False, timeout=5
    )

    assert back.headers["Location"] == CANCEL_URL
    assert mollie_client.payments.get(left.id).status == "canceled"
    stays_open = create_payment(mollie_client, notification_sink.endpoint)
    with pytest.raises(UnprocessableEntityError):
        mollie_client.payments.delete(stays_open.id)
    mollie_api.expire(stays_open.id)
    assert mollie_client.payments.get(stays_open.id).status == "expired"
    assert webhook_ids(notification_sink) == [f"id={left.id}", f"id={stays_open.id}"]


def test_manual_capture_authorizes_then_captures_or_cancels(mollie_api, mollie_client):
    held = create_payment(mollie_client, captureMode="manual", method="creditcard")
    mollie_api.pay(held.id)
    authorized = mollie_client.payments.get(held.id)
    assert authorized.status == "authorized" and authorized.is_cancelable is True

    capture = authorized.captures.create({"amount": {"currency": "EUR", "value": "8.00"}})

    assert capture.id.startswith("cpt_") and capture["status"] == "succeeded"
    captured = mollie_client.payments.get(held.id)
    assert captured.status == "paid" and captured.amount_captured["value"] == "8.00"
    voided = create_payment(mollie_client, captureMode="manual")
    mollie_api.pay(voided.id)
    assert mollie_client.payments.delete(voided.id).status == "canceled"
    with pytest.raises(UnprocessableEntityError):
        Payment({"id": held.id}, mollie_client).captures.create({})


def test_refunds_pending_then_settled_through_the_payment_webhook(
    mollie_api, mollie_client, notification_sink
):
    payment = create_payment(mollie_client, notification_sink.endpoint)
    mollie_api.pay(payment.id)
    paid = mollie_client.payments.get(payment.id)

    refund = paid.refunds.create({"amount": {"currency": "EUR", "value": "4.00"}})

    assert refund.status == "pending" and refund.payment_id == payment.id
    with pytest.raises(UnprocessableEntityError) as too_much:
        paid.refunds.create({"amount": {"currency": "EUR", "value": "6.01"}})
    assert too_much.value.field == "amount"
    mollie_api.settle_refund(refund.id)
    assert paid.refunds.get(refund.id).status == "refunded"
    assert webhook_ids(notification_sink) == [f"id={payment.id}"] * 2
    after = mollie_client.payments.get(payment.id)
    assert after.amount_refunded["value"] == "4.00" and after.has_refunds()


@pytest.mark.parametrize(
    ("currency", "value"), [("EUR", "10.00"), ("JPY", "500"), ("KWD", "1.500")]
)
def test_amounts_take_exactly_the_currencys_decimals(mollie_client, currency, value):
    assert create_payment(mollie_client, value=value, currency=currency).amount == {
        "currency": currency,
        "value": value,
    }


@pytest.mark.parametrize(
    ("currency", "value"), [("EUR", "10"), ("EUR", "10.5"), ("JPY", "500.00"), ("KWD", "1.50")]
)
def test_inexact_decimal_strings_are_refused(mollie_client, currency, value):
    with pytest.raises(UnprocessableEntityError) as refused:
        create_payment(mollie_client, value=value, currency=currency)

    assert refused.value.field == "amount.value" and refused.value.status == 422


def test_errors_become_the_sdks_exception_classes(mollie_api, mollie_client):
    from mollie.api.client import Client

    stranger = Client(api_endpoint=mollie_api.url)
    stranger.set_api_key("test_notthekey")
    with pytest.raises(UnauthorizedError):
        stranger.payments.get("tr_anything")
    with pytest.raises(NotFoundError, match="tr_nothere"):
        mollie_client.payments.get("tr_nothere")
    with pytest.raises(UnprocessableEntityError) as bad:
        mollie_client.payments.create({"amount": {"currency": "EUR", "value": "1.00"}})
    assert bad.value.field == "description"

    mollie_api.fail_next(503)
    with pytest.raises(ResponseError) as down:
        create_payment(mollie_client)
    assert down.value.status == 503
    assert len(mollie_api.payments) == 0  # nothing was created
    assert create_payment(mollie_client).status == "open"  # only the next one failed


def test_a_hang_past_the_timeout_is_a_request_error(mollie_api, mollie_client):
    mollie_api.hang_next(3)
    started = time.monotonic()

    with pytest.raises(RequestError, match="Unable to communicate with Mollie"):
        create_payment(mollie_client)

    assert time.monotonic() - started < 2.5


def test_idempotency_key_replays_and_error_bodies_are_hal_json(mollie_api, mollie_client):
    data = {
        "amount": {"currency": "EUR", "value": "10.00"},
        "description": "Order 42",
        "redirectUrl": REDIRECT_URL,
    }
    first = mollie_client.payments.create(data, idempotency_key="order-42")
    again = mollie_client.payments.create(data, idempotency_key="order-42")
    assert again.id == first.id and len(mollie_api.payments) == 1
    with pytest.raises(UnprocessableEntityError):
        mollie_client.payments.create({**data, "description": "other"}, idempotency_key="order-42")

    raw = requests.get(
        f"{mollie_api.url}/v2/payments/tr_missing",
        headers={"Authorization": f"Bearer {mollie_api.api_key}"},
        timeout=5,
    )
    assert raw.headers["Content-Type"] == "application/hal+json"
    body = json.loads(raw.text)
    assert body["status"] == 404 and body["title"] == "Not Found" and "detail" in body


def test_a_forged_webhook_names_a_payment_the_receiver_cannot_confirm(
    mollie_api, mollie_client, notification_sink
):
    attempt = mollie_api.send_webhook(notification_sink.endpoint, "tr_forged123")

    assert attempt.status == 200
    assert notification_sink.received[0].body == b"id=tr_forged123"
    with pytest.raises(NotFoundError):
        mollie_client.payments.get("tr_forged123")


def test_the_receiver_can_fetch_the_payment_while_the_webhook_is_in_flight(
    mollie_api, mollie_client, notification_sink
):
    seen: list[str] = []
    notification_sink.on_receive = lambda hook: seen.append(
        mollie_client.payments.get(hook.body.decode().removeprefix("id=")).status
    )
    payment = create_payment(mollie_client, notification_sink.endpoint)

    requests.post(
        payment.checkout_url,
        data={"card_number": "4242424242424242"},
        allow_redirects=False,
        timeout=5,
    )

    assert seen == ["paid"]  # the state changed before the webhook was sent, and no deadlock


def test_listing_one_payment_proves_the_credentials(mollie_client):
    create_payment(mollie_client)
    newest = create_payment(mollie_client)

    listed = mollie_client.payments.list(limit=1)

    assert [p.id for p in listed] == [newest.id]
