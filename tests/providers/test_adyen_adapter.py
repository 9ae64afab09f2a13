"""The Adyen adapter drives the ``adyen_checkout`` fake through the real ``Adyen`` SDK: hosted
sessions, HMAC-verified standard notifications, modifications and error mapping."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests

from kadosei.providers.adyen import DECLINES, SESSION_STATUSES, AdyenProvider, fact_of
from kadosei.providers.base import (
    CheckoutRequest,
    InvalidNotification,
    PaymentStatus,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
    RefundRequest,
    RefundStatus,
)
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_protocol import notification_item

adyen_checkout = fake_psps.adyen_checkout

RETURN_URL = "https://pay.kadosei.test/return/att_1"


@pytest.fixture
def fake(adyen_checkout):
    adyen_checkout.notification_url = "http://127.0.0.1:9/unused"
    adyen_checkout.hold_notifications = True
    return adyen_checkout


def account_for(fake, **overrides) -> ProviderAccount:
    fields = {
        "name": "adyen_eu",
        "type": "adyen",
        "mode": "test",
        "credentials": {
            "api_key": fake.api_key,
            "merchant_account": fake.merchant_account,
            "hmac_key": fake.hmac_key,
        },
        "api_base": fake.api_base,
        "timeout_seconds": 1.0,
        **overrides,
    }
    return ProviderAccount(**fields)


@pytest.fixture
def adyen(fake) -> AdyenProvider:
    return AdyenProvider(account_for(fake))


def checkout(adyen, amount=1000, currency="EUR", **extra):
    fields = {
        "attempt_id": "att_1",
        "session_id": "ses_1",
        "mode": "test",
        "amount": amount,
        "currency": currency,
        "payment_method": "card",
        "return_url": RETURN_URL,
        **extra,
    }
    return adyen.create_checkout(CheckoutRequest(**fields))


def facts_of(adyen, fake, index=-1):
    return adyen.read_notification(fake.notifications[index].body, {})


def test_create_sends_a_hosted_session_and_returns_its_url(adyen, fake):
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = checkout(adyen, customer_email="ana@example.com", expires_at=expires)

    sent = fake.requests_to("POST", "/v72/sessions")[0]
    assert sent.header("X-API-Key") == fake.api_key
    assert sent.header("Idempotency-Key") == "att_1"
    assert sent.body["amount"] == {"value": 1000, "currency": "EUR"}
    assert sent.body["merchantAccount"] == fake.merchant_account
    assert sent.body["reference"] == "att_1" and sent.body["returnUrl"] == RETURN_URL
    assert sent.body["mode"] == "hosted" and sent.body["shopperEmail"] == "ana@example.com"
    assert sent.body["expiresAt"] == "2030-01-02T03:04:05+00:00"
    assert sent.body["allowedPaymentMethods"] == ["scheme"]
    assert "additionalData" not in sent.body
    assert result.provider_reference.startswith("CS")
    assert result.hosted_url == fake.sessions[result.provider_reference]["url"]
    assert requests.get(result.hosted_url, timeout=5).status_code == 200


def test_paid_on_the_page_the_signed_authorisation_reports_succeeded(adyen, fake):
    result = checkout(adyen)
    landing = fake.pay(result.provider_reference)

    assert landing.startswith(RETURN_URL + "?sessionId=" + result.provider_reference)
    [fact] = facts_of(adyen, fake)
    psp = fake.sessions[result.provider_reference]["payments"][0]
    assert fact == PaymentStatus(
        provider_reference=result.provider_reference,
        status="succeeded",
        raw=fact.raw,
        payment_reference=psp,
        amount_captured=1000,
    )
    assert adyen.notification_ack == (200, "[accepted]", "text/plain")
    assert adyen.get_status(result.provider_reference).status == "pending"


def test_session_status_reads_the_session_result_from_the_return_url(adyen, fake):
    from urllib.parse import parse_qs, urlsplit

    result = checkout(adyen)
    query = parse_qs(urlsplit(fake.pay(result.provider_reference)).query)

    status = adyen.session_status(query["sessionId"][0], query["sessionResult"][0])

    assert status.status == "authorized" and status.provider_reference == result.provider_reference
    assert status.payment_reference == fake.sessions[result.provider_reference]["payments"][0]
    with pytest.raises(ProviderBadRequest):
        adyen.session_status(result.provider_reference, "not-a-result")


def test_a_declined_card_is_a_failure_with_its_code_and_retry_flag(adyen, fake):
    result = checkout(adyen)
    fake.pay(result.provider_reference, "4000000000009995")
    [funds] = facts_of(adyen, fake)
    fake.decline(result.provider_reference, "Issuer Unavailable")
    [issuer] = facts_of(adyen, fake)

    assert (funds.status, funds.failure_code, funds.retry_elsewhere) == (
        "failed",
        "insufficient_funds",
        False,
    )
    assert funds.provider_reference == result.provider_reference
    assert (issuer.failure_code, issuer.retry_elsewhere) == ("processing_error", True)
    assert issuer.failure_message == "Your bank could not be reached. Please try again."


def test_manual_capture_authorises_then_capture_and_void_answer_pending(adyen, fake):
    result = checkout(adyen, capture_method="manual")
    assert fake.requests_to("POST", "/v72/sessions")[0].body["additionalData"] == {
        "manualCapture": "true"
    }
    fake.pay(result.provider_reference)
    [authorised] = facts_of(adyen, fake)
    assert authorised.status == "authorized" and authorised.amount_captured is None
    psp = authorised.payment_reference

    captured = adyen.capture(psp, 600, "EUR", idempotency_key="cap_1")
    assert captured.status == "authorized"  # the outcome comes by notification
    sent = fake.requests_to("POST", f"/v72/payments/{psp}/captures")[0]
    assert sent.body["amount"] == {"value": 600, "currency": "EUR"}
    assert sent.header("Idempotency-Key") == "cap_1"
    [capture] = facts_of(adyen, fake)
    assert (capture.provider_reference, capture.status, capture.amount_captured) == (
        psp,
        "succeeded",
        600,
    )

    voided = adyen.void(psp, idempotency_key="void_1")
    assert voided.status == "authorized"
    [cancel] = facts_of(adyen, fake)  # already captured: Adyen refuses the cancel
    assert (cancel.provider_reference, cancel.status) == (psp, "authorized")


def test_void_of_an_authorisation_reports_canceled(adyen, fake):
    result = checkout(adyen, capture_method="manual")
    fake.pay(result.provider_reference)
    psp = facts_of(adyen, fake)[0].payment_reference

    adyen.void(psp, idempotency_key="void_1")

    [cancel] = facts_of(adyen, fake)
    assert (cancel.provider_reference, cancel.status) == (psp, "canceled")


def test_refund_is_pending_then_its_notification_says_how_it_ended(adyen, fake):
    result = checkout(adyen)
    fake.pay(result.provider_reference)
    psp = facts_of(adyen, fake)[0].payment_reference

    started = adyen.refund(RefundRequest("re_1", psp, 400, "EUR"))
    [done] = facts_of(adyen, fake)
    adyen.refund(RefundRequest("re_2", psp, 5000, "EUR"))
    [refused] = facts_of(adyen, fake)

    assert started.status == "pending" and started.refund_id == "re_1"
    assert fake.requests_to("POST", f"/v72/payments/{psp}/refunds")[0].body["amount"] == {
        "value": 400,
        "currency": "EUR",
    }
    assert done == RefundStatus(
        provider_refund_reference=started.provider_refund_reference,
        status="succeeded",
        provider_reference=psp,
        refund_id="re_1",
        raw=done.raw,
    )
    assert (refused.status, refused.failure_message) == (
        "failed",
        "Insufficient balance on payment",
    )
    looked_up = adyen.get_refund(psp, started.provider_refund_reference)
    assert (looked_up.status, looked_up.provider_reference) == ("pending", psp)


def test_customer_cancel_and_expiry(adyen, fake):
    canceled = checkout(adyen)
    landing = fake.cancel(canceled.provider_reference)
    assert "sessionResult=" in landing
    assert fake.notifications == []  # Adyen sends nothing for a shopper leaving the page

    ended = adyen.expire_checkout(canceled.provider_reference)
    assert (ended.provider_reference, ended.status) == (canceled.provider_reference, "expired")

    pending = checkout(adyen, attempt_id="att_2")
    fake.pay(pending.provider_reference, "4000000000000259")
    fake.expire(pending.provider_reference)
    [closed] = facts_of(adyen, fake)
    assert (closed.provider_reference, closed.status) == (pending.provider_reference, "expired")


def test_a_forged_item_makes_the_whole_notification_invalid(adyen, fake):
    result = checkout(adyen)
    fake.pay(result.provider_reference)
    genuine = json.loads(fake.notifications[-1].body)
    item = genuine["notificationItems"][0]["NotificationRequestItem"]
    forged_item = notification_item(
        "AUTHORISATION",
        "FORGED0000000000",
        {"value": 1, "currency": "EUR"},
        fake.merchant_account,
        "att_1",
        True,
        "",
        "00" * 32,
    )
    both = {**genuine, "notificationItems": genuine["notificationItems"] + [forged_item]}
    tampered = {**item, "success": "false"}

    for body in (
        json.dumps(both),
        json.dumps({**genuine, "notificationItems": [{"NotificationRequestItem": tampered}]}),
        json.dumps({**genuine, "notificationItems": [{"NotificationRequestItem": {}}]}),
        json.dumps({"live": "false", "notificationItems": []}),
        "[accepted]",
        "",
    ):
        with pytest.raises(InvalidNotification):
            adyen.read_notification(body.encode(), {})


def test_a_replayed_notification_gives_the_same_facts(adyen, fake):
    result = checkout(adyen)
    fake.pay(result.provider_reference)
    first = facts_of(adyen, fake)
    fake.redeliver(fake.notifications[-1])

    assert adyen.read_notification(fake.notifications[-1].body, {}) == first
    assert adyen.parse_notification(fake.notifications[-1].body, {}) == first[0]


def test_events_kadosei_does_not_act_on_are_acknowledged_without_facts(adyen, fake):
    item = notification_item(
        "REPORT_AVAILABLE",
        "PSP0000000000001",
        {"value": 0, "currency": "EUR"},
        fake.merchant_account,
        "report.csv",
        True,
        "",
        fake.hmac_key,
    )
    assert adyen.read_notification(fake.notification_body(item), {}) == []


def test_a_5xx_a_timeout_and_a_4xx_at_creation(adyen, fake):
    fake.fail_next(500)
    with pytest.raises(ProviderError) as down:
        checkout(adyen)
    assert not isinstance(down.value, ProviderBadRequest)
    fake.fail_next(503)
    with pytest.raises(ProviderError):
        checkout(adyen)
    fake.hang_next(3)
    with pytest.raises(ProviderTimeout):
        checkout(adyen)
    with pytest.raises(ProviderBadRequest):
        checkout(adyen, return_url="ftp://nowhere")
    with pytest.raises(ProviderBadRequest):
        adyen.capture("NOSUCHPSP0000000", 100, "EUR", idempotency_key="cap_x")


def test_an_unreachable_adyen_is_a_provider_error(fake):
    adyen = AdyenProvider(account_for(fake, api_base="http://127.0.0.1:9/v72"))
    with pytest.raises(ProviderError) as unreachable:
        checkout(adyen)
    assert type(unreachable.value) is ProviderError


def test_credentials_never_appear_in_errors_or_logs(fake, caplog):
    secret = "AQE_secret_" + "x" * 30
    stranger = AdyenProvider(
        account_for(fake, credentials={"api_key": secret, "merchant_account": "Nope"})
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderBadRequest) as refused:
        checkout(stranger)

    assert "401" in str(refused.value)
    assert secret not in str(refused.value) and secret not in repr(refused.value)
    assert secret not in caplog.text
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


@pytest.mark.parametrize(
    ("currency", "amount", "on_the_wire"),
    [("EUR", 1999, 1999), ("JPY", 500, 500), ("KWD", 1500, 1500), ("ISK", 500, 50000)],
)
def test_amounts_on_the_wire(adyen, fake, currency, amount, on_the_wire):
    checkout(adyen, amount=amount, currency=currency)
    assert fake.requests_to("POST", "/v72/sessions")[0].body["amount"] == {
        "value": on_the_wire,
        "currency": currency,
    }


def test_currencies_adyen_cannot_take_exactly_are_ineligible(adyen):
    assert adyen.ineligible_reason("test", "card", "EUR") is None
    assert adyen.ineligible_reason("test", "card", "CLP") is None
    reason = adyen.ineligible_reason("test", "card", "IDR")
    assert reason is not None and "IDR" in reason
    assert not adyen.supports("test", "card", "CVE")
    with pytest.raises(ProviderBadRequest):
        checkout(adyen, amount=10000, currency="IDR")


def test_capabilities_default_and_overridden(fake):
    default = AdyenProvider(account_for(fake)).capabilities()
    assert "card" in default.methods and default.fees["card"].fixed_eur_cents == 13
    assert default.supports("test", "card", "JPY") and default.supports("test", "ideal", "EUR")
    assert not default.supports("test", "ideal", "USD")  # a euro scheme
    assert not default.supports("test", "sepa_debit", "GBP")
    narrowed = AdyenProvider(
        account_for(fake, methods=frozenset({"card"}), currencies=frozenset({"EUR"}))
    )
    assert narrowed.supports("test", "card", "EUR")
    assert not narrowed.supports("test", "card", "USD")
    assert not narrowed.supports("test", "ideal", "EUR")
    assert narrowed.display_name == "Adyen (adyen_eu)"
    assert not narrowed.supports("live", "card", "EUR")  # a test account serves test mode only


def test_live_mode_builds_the_live_endpoint_from_the_prefix(fake):
    live = AdyenProvider(
        account_for(
            fake,
            mode="live",
            api_base=None,
            credentials={**account_for(fake).credentials, "live_url_prefix": "1797a841fbb37ca7"},
        )
    )
    sdk = live._client.client
    url = sdk._determine_api_url(sdk.platform, live._payments.baseUrl + "/sessions")
    assert url == "https://1797a841fbb37ca7-checkout-live.adyenpayments.com/checkout/v72/sessions"
    no_prefix = AdyenProvider(account_for(fake, mode="live", api_base=None))
    with pytest.raises(ProviderError) as unconfigured:
        checkout(no_prefix)
    assert "live_url_prefix" in str(unconfigured.value)
    through_the_fake = AdyenProvider(account_for(fake, mode="live"))  # api_base wins
    assert checkout(through_the_fake).provider_reference.startswith("CS")


@pytest.mark.parametrize(("reason", "decline"), sorted(DECLINES.items()))
def test_every_decline_row(fake, reason, decline):
    item = notification_item(
        "AUTHORISATION",
        "PSP0000000000001",
        {"value": 1000, "currency": "EUR"},
        fake.merchant_account,
        "att_1",
        False,
        reason,
        fake.hmac_key,
        additional={"checkoutSessionId": "CS1"},
    )
    fact = fact_of(item)
    assert (fact.status, fact.failure_code, fact.retry_elsewhere, fact.failure_message) == (
        "failed",
        decline.code,
        decline.retry_elsewhere,
        decline.message,
    )
    assert fact.provider_reference == "CS1"


def test_an_unknown_refusal_is_a_generic_decline(fake):
    item = {
        "eventCode": "AUTHORISATION",
        "success": "false",
        "reason": "Something new",
        "pspReference": "P",
    }
    fact = fact_of(item)
    assert (fact.failure_code, fact.retry_elsewhere) == ("card_declined", True)


@pytest.mark.parametrize(
    ("event", "success", "extra", "status"),
    [
        ("AUTHORISATION", "true", {}, "succeeded"),
        ("AUTHORISATION", "true", {"metadata.capture_method": "manual"}, "authorized"),
        ("CAPTURE", "true", {}, "succeeded"),
        ("CAPTURE", "false", {}, "authorized"),
        ("CANCELLATION", "true", {}, "canceled"),
        ("CANCELLATION", "false", {}, "authorized"),
        ("OFFER_CLOSED", "true", {}, "expired"),
    ],
)
def test_every_status_row(event, success, extra, status):
    item = {
        "eventCode": event,
        "success": success,
        "pspReference": "P",
        "amount": {"value": 1, "currency": "EUR"},
        "additionalData": extra,
    }
    assert fact_of(item).status == status


def test_every_session_status_row():
    assert SESSION_STATUSES == {
        "active": "pending",
        "paymentPending": "processing",
        "completed": "authorized",
        "refused": "failed",
        "canceled": "canceled",
        "expired": "expired",
    }


def test_expires_at_without_a_zone_is_utc(adyen, fake):
    checkout(adyen, expires_at=datetime(2030, 1, 1, 12, 0) + timedelta(minutes=30))
    assert fake.requests_to("POST", "/v72/sessions")[0].body["expiresAt"] == (
        "2030-01-01T12:30:00+00:00"
    )
