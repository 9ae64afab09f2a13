"""The Adyen fake speaks Checkout sessions, modifications and standard notifications as the
official ``Adyen`` SDK sends, reads and verifies them."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from Adyen.exceptions import (
    AdyenAPIAuthenticationError,
    AdyenAPICommunicationError,
    AdyenAPIInvalidPermission,
    AdyenAPIResponseError,
    AdyenAPIUnprocessableEntity,
    AdyenAPIValidationError,
)
from Adyen.util import is_valid_hmac_notification

RETURN_URL = "https://shop.example/return?ses=ses_42"


def create_session(client, fake, value=1000, currency="EUR", **extra):
    request = {
        "amount": {"value": value, "currency": currency},
        "merchantAccount": fake.merchant_account,
        "reference": "ses_42",
        "returnUrl": RETURN_URL,
        "mode": "hosted",
        **extra,
    }
    return client.checkout.payments_api.sessions(request).message


def items(sink):
    return [
        json.loads(r.body)["notificationItems"][0]["NotificationRequestItem"] for r in sink.received
    ]


def result_of(client, landing):
    query = parse_qs(urlsplit(landing).query)
    return client.checkout.payments_api.get_result_of_payment_session(
        query["sessionId"][0], query_parameters={"sessionResult": query["sessionResult"][0]}
    ).message


@pytest.fixture
def listening(adyen_checkout, notification_sink):
    adyen_checkout.notification_url = notification_sink.endpoint
    notification_sink.reply = b"[accepted]"
    return notification_sink


def test_hosted_road_create_page_pay_return_and_signed_authorisation(
    adyen_checkout, adyen_client, listening
):
    session = create_session(adyen_client, adyen_checkout)

    sent = adyen_checkout.requests_to("POST", "/v72/sessions")[0]
    assert sent.header("X-API-Key") == adyen_checkout.api_key
    assert sent.body["amount"] == {"value": 1000, "currency": "EUR"}
    assert {"id", "url", "sessionData", "expiresAt"} <= session.keys()
    assert session["id"].startswith("CS") and session["mode"] == "hosted"

    page = requests.get(session["url"], timeout=5)
    assert page.status_code == 200 and "card_number" in page.text
    paid = requests.post(
        session["url"], data={"card_number": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303
    landing = paid.headers["Location"]
    assert landing.startswith(RETURN_URL + "&sessionId=" + session["id"] + "&sessionResult=")

    body = json.loads(listening.received[0].body)
    assert body["live"] == "false"
    assert is_valid_hmac_notification(body, adyen_checkout.hmac_key)
    [item] = items(listening)
    assert (item["eventCode"], item["success"], item["merchantReference"]) == (
        "AUTHORISATION",
        "true",
        "ses_42",
    )
    assert adyen_checkout.notifications[0].attempts[-1].body == b"[accepted]"
    result = result_of(adyen_client, landing)
    assert result["status"] == "completed"
    assert result["payments"][0]["pspReference"] == item["pspReference"]


def test_refusals_are_signed_notifications_and_three_end_the_session(
    adyen_checkout, adyen_client, listening
):
    session = create_session(adyen_client, adyen_checkout)

    assert adyen_checkout.pay(session["id"], "4000000000009995") is None
    adyen_checkout.decline(session["id"], "Blocked Card")
    landing = adyen_checkout.pay(session["id"], "4000000000000002")

    refused = items(listening)
    assert [(i["success"], i["reason"]) for i in refused] == [
        ("false", "Not enough balance"),
        ("false", "Blocked Card"),
        ("false", "Refused"),
    ]
    assert all(
        is_valid_hmac_notification(json.loads(r.body), adyen_checkout.hmac_key)
        for r in listening.received
    )
    assert result_of(adyen_client, landing)["status"] == "refused"


def test_cancel_link_returns_the_shopper_with_a_canceled_result(adyen_checkout, adyen_client):
    session = create_session(adyen_client, adyen_checkout)
    page = requests.get(session["url"], timeout=5)
    assert f"/checkoutshopper/{session['id']}/cancel" in page.text

    back = requests.get(
        f"{adyen_checkout.url}/checkoutshopper/{session['id']}/cancel",
        allow_redirects=False,
        timeout=5,
    )

    assert back.headers["Location"].startswith(RETURN_URL)
    assert result_of(adyen_client, back.headers["Location"])["status"] == "canceled"


def test_pending_payment_then_expiry_closes_the_offer(adyen_checkout, adyen_client, listening):
    session = create_session(adyen_client, adyen_checkout)
    landing = adyen_checkout.pay(session["id"], "4000000000000259")
    assert result_of(adyen_client, landing)["status"] == "paymentPending"
    assert listening.received == []

    adyen_checkout.expire(session["id"])

    [closed] = items(listening)
    assert (closed["eventCode"], closed["success"]) == ("OFFER_CLOSED", "true")
    assert is_valid_hmac_notification(
        json.loads(listening.received[0].body), adyen_checkout.hmac_key
    )
    assert result_of(adyen_client, landing)["status"] == "expired"

    settled = create_session(adyen_client, adyen_checkout)
    adyen_checkout.pay(settled["id"], "4000000000000259")
    adyen_checkout.settle(settled["id"])
    assert items(listening)[-1]["eventCode"] == "AUTHORISATION"
    assert items(listening)[-1]["success"] == "true"


def test_modifications_are_received_then_notified(adyen_checkout, adyen_client, listening):
    session = create_session(adyen_client, adyen_checkout, additionalData={"manualCapture": "true"})
    adyen_checkout.pay(session["id"])
    psp = items(listening)[0]["pspReference"]
    modifications = adyen_client.checkout.modifications_api
    account = adyen_checkout.merchant_account

    capture = modifications.capture_authorised_payment(
        {"merchantAccount": account, "amount": {"value": 1000, "currency": "EUR"}}, psp
    )
    cancel = modifications.cancel_authorised_payment_by_psp_reference(
        {"merchantAccount": account}, psp
    )
    refund = modifications.refund_captured_payment(
        {"merchantAccount": account, "amount": {"value": 400, "currency": "EUR"}}, psp
    )
    too_much = modifications.refund_captured_payment(
        {"merchantAccount": account, "amount": {"value": 700, "currency": "EUR"}}, psp
    )

    assert capture.status_code == 201 and capture.message["status"] == "received"
    assert capture.message["paymentPspReference"] == psp
    outcomes = [
        (i["eventCode"], i["success"], i.get("originalReference")) for i in items(listening)
    ]
    assert outcomes[1:] == [
        ("CAPTURE", "true", psp),
        ("CANCELLATION", "false", psp),
        ("REFUND", "true", psp),
        ("REFUND", "false", psp),
    ]
    assert items(listening)[2]["pspReference"] == cancel.message["pspReference"]
    assert items(listening)[3]["pspReference"] == refund.message["pspReference"]
    assert items(listening)[4]["reason"] == "Insufficient balance on payment"
    assert too_much.status_code == 201


@pytest.mark.parametrize(("currency", "value"), [("EUR", 1000), ("JPY", 500), ("KWD", 1500)])
def test_amounts_are_minor_units(adyen_checkout, adyen_client, currency, value):
    session = create_session(adyen_client, adyen_checkout, value=value, currency=currency)

    assert session["amount"] == {"value": value, "currency": currency}


def test_errors_become_the_sdks_exception_classes(adyen_checkout, adyen_client):
    import Adyen

    stranger = Adyen.Adyen(xapikey="not-the-key", platform="test")
    stranger.checkout.payments_api.baseUrl = adyen_checkout.api_base
    with pytest.raises(AdyenAPIAuthenticationError) as refused:
        create_session(stranger, adyen_checkout)
    assert refused.value.message["errorType"] == "security"

    with pytest.raises(AdyenAPIInvalidPermission) as account:
        adyen_client.checkout.payments_api.sessions({"merchantAccount": "SomeoneElse"})
    assert account.value.error_code == "901"
    with pytest.raises(AdyenAPIUnprocessableEntity) as missing:
        create_session(adyen_client, adyen_checkout, reference="")
    assert missing.value.error_code == "130"
    with pytest.raises(AdyenAPIUnprocessableEntity) as unknown:
        adyen_client.checkout.modifications_api.cancel_authorised_payment_by_psp_reference(
            {"merchantAccount": adyen_checkout.merchant_account}, "NOSUCHPSP0000000"
        )
    assert unknown.value.error_code == "167"
    with pytest.raises(AdyenAPICommunicationError) as no_session:
        adyen_client.checkout.payments_api.get_result_of_payment_session("CS0")
    assert no_session.value.status_code == 404
    open_session = create_session(adyen_client, adyen_checkout)["id"]
    with pytest.raises(AdyenAPIValidationError):  # sessionResult is required
        adyen_client.checkout.payments_api.get_result_of_payment_session(open_session)

    adyen_checkout.fail_next(500)
    with pytest.raises(AdyenAPICommunicationError) as down:
        create_session(adyen_client, adyen_checkout)
    assert down.value.status_code == 500 and down.value.message["errorType"] == "internal"
    adyen_checkout.fail_next(503)
    with pytest.raises(AdyenAPIResponseError) as unavailable:
        create_session(adyen_client, adyen_checkout)
    assert unavailable.value.status_code == 503


def test_a_hang_past_the_timeout_raises_the_http_libraries_timeout(adyen_checkout, adyen_client):
    adyen_checkout.hang_next(3)
    started = time.monotonic()

    with pytest.raises(requests.Timeout):
        create_session(adyen_client, adyen_checkout)

    assert time.monotonic() - started < 2.5


def test_idempotency_key_replays_the_session(adyen_checkout, adyen_client):
    request = {
        "amount": {"value": 1000, "currency": "EUR"},
        "merchantAccount": adyen_checkout.merchant_account,
        "reference": "ses_42",
        "returnUrl": RETURN_URL,
        "mode": "hosted",
    }
    api = adyen_client.checkout.payments_api
    first = api.sessions(request, idempotency_key="ses_42-1").message
    again = api.sessions(request, idempotency_key="ses_42-1").message

    assert again["id"] == first["id"] and len(adyen_checkout.sessions) == 1
    with pytest.raises(AdyenAPIUnprocessableEntity):
        api.sessions({**request, "reference": "other"}, idempotency_key="ses_42-1")


def test_forged_and_tampered_notifications_fail_the_sdks_hmac_check(
    adyen_checkout, adyen_client, listening
):
    session = create_session(adyen_client, adyen_checkout)
    adyen_checkout.pay(session["id"])
    genuine = json.loads(listening.received[0].body)
    item = genuine["notificationItems"][0]["NotificationRequestItem"]

    tampered = json.loads(json.dumps(genuine))
    tampered["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] = 1
    adyen_checkout.send_item({**item, "success": "true", "pspReference": "FORGED0000000000"})
    adyen_checkout.redeliver(adyen_checkout.notifications[0])

    assert not is_valid_hmac_notification(tampered, adyen_checkout.hmac_key)
    assert not is_valid_hmac_notification(genuine, "00" * 32)
    forged, replayed = listening.received[1:]
    assert not is_valid_hmac_notification(json.loads(forged.body), adyen_checkout.hmac_key)
    assert replayed.body == listening.received[0].body
    assert is_valid_hmac_notification(json.loads(replayed.body), adyen_checkout.hmac_key)


def test_payment_methods_prove_the_credentials_and_merchant_account(adyen_checkout, adyen_client):
    api = adyen_client.checkout.payments_api

    methods = api.payment_methods({"merchantAccount": adyen_checkout.merchant_account})

    assert methods.message["paymentMethods"][0]["type"] == "scheme"
    with pytest.raises(AdyenAPIInvalidPermission):
        api.payment_methods({"merchantAccount": "NotOurs"})
