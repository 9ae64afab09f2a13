"""The Mollie adapter, driven through the real mollie-api-python SDK against the Mollie fake."""

from __future__ import annotations

import logging

import pytest
import requests

from kadosei.providers.base import (
    CheckoutRequest,
    InvalidNotification,
    OperationUnsupported,
    PaymentStatus,
    PaymentUnderWay,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
    RefundRequest,
    RefundStatus,
)
from kadosei.providers.mollie import DECLINES, STATUSES, MollieProvider
from tests.fakes import fixtures as fake_psps
from tests.fakes.mollie_api import MollieApiFake

mollie_api = fake_psps.mollie_api
start_fake = fake_psps.start_fake

WEBHOOK = "https://kadosei.example/providers/mollie_nl/notifications"
RETURN = "https://kadosei.example/return/att_1"


def account_for(fake: MollieApiFake, **overrides) -> ProviderAccount:
    fields = {
        "name": "mollie_nl",
        "type": "mollie",
        "mode": "test",
        "credentials": {"api_key": fake.api_key},
        "api_base": fake.url,
        "timeout_seconds": 1.0,
        **overrides,
    }
    return ProviderAccount(**fields)


def checkout(attempt: str = "att_1", **overrides) -> CheckoutRequest:
    fields = {
        "attempt_id": attempt,
        "session_id": "ses_1",
        "mode": "test",
        "amount": 1999,
        "currency": "EUR",
        "payment_method": "card",
        "return_url": RETURN,
        "reference": "order-42",
        "notification_url": WEBHOOK,
        **overrides,
    }
    return CheckoutRequest(**fields)


class Inbox:
    """Where the fake's webhooks land (kadosei's notification endpoint stands here)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict, bytes]] = []

    def __call__(self, url: str, headers, body: bytes) -> tuple[int, bytes]:
        self.received.append((url, dict(headers), body))
        return 200, b""


@pytest.fixture
def inbox(mollie_api) -> Inbox:
    mollie_api.sender = inbox = Inbox()
    return inbox


@pytest.fixture
def provider(mollie_api, inbox) -> MollieProvider:
    return MollieProvider(account_for(mollie_api))


def delivered_facts(inbox: Inbox, provider: MollieProvider) -> list:
    """Every webhook the fake sent since the last look, each read by the adapter."""
    batch, inbox.received = inbox.received, []
    assert all(url == WEBHOOK for url, _, _ in batch)
    return [provider.read_notification(body, headers) for _, headers, body in batch]


def created(provider: MollieProvider, fake: MollieApiFake, **overrides) -> str:
    return provider.create_checkout(checkout(**overrides)).provider_reference


# -- the whole road ------------------------------------------------------------------------------


def test_create_pay_on_the_hosted_page_and_the_webhook_confirms_from_the_api(
    provider, mollie_api, inbox
):
    result = provider.create_checkout(checkout(description="Blue shoes"))

    [sent] = mollie_api.requests_to("POST", "/v2/payments")
    assert sent.header("Authorization") == f"Bearer {mollie_api.api_key}"
    assert sent.header("Idempotency-Key") == "att_1"
    assert sent.body == {
        "amount": {"currency": "EUR", "value": "19.99"},
        "description": "Blue shoes",
        "redirectUrl": RETURN,
        "webhookUrl": WEBHOOK,
        "method": "creditcard",
        "metadata": {"kadosei_attempt": "att_1", "kadosei_session": "ses_1"},
    }
    assert result.provider_reference.startswith("tr_")
    assert result.hosted_url == f"{mollie_api.url}/checkout/{result.provider_reference}"
    assert provider.get_status(result.provider_reference).status == "pending"

    paid = requests.post(
        result.hosted_url,
        data={"card_number": "4242424242424242"},
        allow_redirects=False,
        timeout=5,
    )
    assert paid.status_code == 303 and paid.headers["Location"] == RETURN

    [[fact]] = delivered_facts(inbox, provider)
    assert fact.provider_reference == result.provider_reference
    assert fact.status == "succeeded" and fact.amount_captured == 1999
    assert fact.failure_code is None and fact.retry_elsewhere is None
    assert provider.notification_ack[0] == 200


def test_the_description_falls_back_to_the_reference_then_a_default(provider, mollie_api):
    created(provider, mollie_api, attempt="att_a")
    created(provider, mollie_api, attempt="att_b", reference=None)

    first, second = mollie_api.requests_to("POST", "/v2/payments")
    assert first.body["description"] == "order-42"
    assert second.body["description"] == "Payment ses_1"


@pytest.mark.parametrize(
    ("method", "mollie_method"),
    [("ideal", "ideal"), ("bancontact", "bancontact"), ("paypal", "paypal"), ("klarna", "klarna")],
)
def test_each_method_is_sent_as_mollies(provider, mollie_api, method, mollie_method):
    created(provider, mollie_api, payment_method=method)

    assert mollie_api.requests_to("POST", "/v2/payments")[0].body["method"] == mollie_method


def test_sepa_debit_is_not_taken_through_the_hosted_checkout(provider, mollie_api):
    with pytest.raises(OperationUnsupported):
        provider.create_checkout(checkout(payment_method="sepa_debit"))

    assert mollie_api.requests_to("POST", "/v2/payments") == []
    assert "sepa_debit" in provider.ineligible_reason("test", "sepa_debit", "EUR")


# -- declines, cancel, expiry --------------------------------------------------------------------


def test_a_decline_on_the_page_is_failed_with_its_code(provider, mollie_api, inbox):
    tid = created(provider, mollie_api)

    mollie_api.pay(tid, "4000000000009995")

    [[fact]] = delivered_facts(inbox, provider)
    assert (fact.status, fact.failure_code, fact.retry_elsewhere) == (
        "failed",
        "insufficient_funds",
        False,
    )
    assert fact.failure_message == "Your card has insufficient funds."


# Mollie's failureReason → (kadosei failure.code, may another provider succeed?), row by row.
EXPECTED_DECLINES = {
    "authentication_abandoned": ("authentication_failed", False),
    "authentication_failed": ("authentication_failed", False),
    "authentication_required": ("authentication_failed", True),
    "authentication_unavailable_acs": ("authentication_failed", True),
    "card_declined": ("card_declined", True),
    "card_expired": ("expired_card", False),
    "inactive_card": ("card_declined", False),
    "insufficient_funds": ("insufficient_funds", False),
    "invalid_cvv": ("incorrect_cvc", False),
    "invalid_card_holder_name": ("invalid_card_details", False),
    "invalid_card_number": ("incorrect_number", False),
    "invalid_card_type": ("card_not_supported", True),
    "possible_fraud": ("fraudulent", False),
    "refused_by_issuer": ("card_declined", False),
    "unknown_reason": ("processing_error", True),
}


def test_the_decline_table_has_exactly_the_expected_rows():
    assert set(DECLINES) == set(EXPECTED_DECLINES) | {""}


@pytest.mark.parametrize(("reason", "expected"), sorted(EXPECTED_DECLINES.items()))
def test_every_failure_reason_maps_through_the_decline_table(
    provider, mollie_api, inbox, reason, expected
):
    tid = created(provider, mollie_api)

    mollie_api.decline(tid, reason)

    [[fact]] = delivered_facts(inbox, provider)
    assert fact.status == "failed"
    assert (fact.failure_code, fact.retry_elsewhere) == expected
    assert fact.failure_message == DECLINES[reason].message and fact.failure_message


def test_the_status_table_has_exactly_mollies_payment_statuses():
    assert set(STATUSES) == set(REACH_STATUS)


def test_a_failure_without_or_with_an_unknown_reason(provider, mollie_api):
    bare, novel = created(provider, mollie_api), created(provider, mollie_api, attempt="att_2")
    mollie_api.payments[bare]["status"] = "failed"
    mollie_api.decline(novel, "brand_new_reason")

    assert provider.get_status(bare).failure_code == "payment_failed"
    assert provider.get_status(bare).retry_elsewhere is True
    unknown = provider.get_status(novel)
    assert (unknown.failure_code, unknown.retry_elsewhere) == ("processing_error", True)


# How the customer (or Mollie) brings a payment into each of Mollie's statuses on the fake.
REACH_STATUS = {
    "open": lambda fake, tid: None,
    "pending": lambda fake, tid: fake.pay(tid, "4000000000000259"),
    "authorized": lambda fake, tid: fake.pay(tid),
    "paid": lambda fake, tid: fake.pay(tid),
    "failed": lambda fake, tid: fake.decline(tid),
    "canceled": lambda fake, tid: fake.cancel(tid),
    "expired": lambda fake, tid: fake.expire(tid),
}


@pytest.mark.parametrize(
    ("mollie_status", "kadosei_status"),
    [
        ("open", "pending"),
        ("pending", "processing"),
        ("authorized", "authorized"),
        ("paid", "succeeded"),
        ("failed", "failed"),
        ("canceled", "canceled"),
        ("expired", "expired"),
    ],
)
def test_every_mollie_status_maps_through_the_status_table(
    provider, mollie_api, mollie_status, kadosei_status
):
    manual = "manual" if mollie_status == "authorized" else "automatic"
    tid = created(provider, mollie_api, capture_method=manual)
    REACH_STATUS[mollie_status](mollie_api, tid)
    assert mollie_api.payments[tid]["status"] == mollie_status

    assert provider.get_status(tid).status == kadosei_status


def test_an_unknown_status_is_a_provider_error(provider, mollie_api):
    tid = created(provider, mollie_api)
    mollie_api.payments[tid]["status"] = "teleported"

    with pytest.raises(ProviderError):
        provider.get_status(tid)


def test_the_customer_cancels_on_the_page(provider, mollie_api, inbox):
    tid = created(provider, mollie_api)

    assert mollie_api.cancel(tid) == RETURN

    [[fact]] = delivered_facts(inbox, provider)
    assert fact.status == "canceled" and fact.failure_code is None


def test_mollie_expires_the_payment(provider, mollie_api, inbox):
    tid = created(provider, mollie_api)

    mollie_api.expire(tid)

    [[fact]] = delivered_facts(inbox, provider)
    assert fact.status == "expired"


def test_expire_checkout_cannot_cancel_an_open_card_payment(provider, mollie_api):
    tid = created(provider, mollie_api)

    with pytest.raises(PaymentUnderWay):
        provider.expire_checkout(tid)

    assert mollie_api.requests_to("DELETE", "/v2/payments") == []


def test_expire_checkout_cancels_a_cancelable_payment(provider, mollie_api):
    mollie_api.open_is_cancelable = True
    tid = created(provider, mollie_api)

    ended = provider.expire_checkout(tid)

    assert ended.status == "expired"  # kadosei ended it: not a customer's cancel
    assert ended.raw["status"] == "canceled" and mollie_api.payments[tid]["status"] == "canceled"
    assert len(mollie_api.requests_to("DELETE", f"/v2/payments/{tid}")) == 1


def test_expire_checkout_reports_a_payment_that_already_ended(provider, mollie_api):
    tid = created(provider, mollie_api)
    mollie_api.expire(tid)

    assert provider.expire_checkout(tid).status == "expired"
    assert mollie_api.requests_to("DELETE", "/v2/payments") == []


# -- notifications -------------------------------------------------------------------------------


def test_a_forged_webhook_for_an_open_payment_changes_nothing(provider, mollie_api):
    tid = created(provider, mollie_api)

    [status] = provider.read_notification(f"id={tid}".encode(), {})

    assert status.status == "pending"  # only what the API says counts, not that a call came


def test_a_webhook_for_a_payment_unknown_to_the_api_is_invalid(provider, mollie_api):
    with pytest.raises(InvalidNotification):
        provider.read_notification(b"id=tr_NotMine1234", {})

    assert len(mollie_api.requests_to("GET", "/v2/payments/tr_NotMine1234")) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"id=",
        b"id=re_abcdefghij",
        b"id=tr_abc/../../v2/refunds",
        b"id=tr_abcdefghij&id=tr_klmnopqrst",
        b"id=tr_abcdefghij&status=paid",
        b'{"id": "tr_abcdefghij"}',
        b"id=tr_abc%00defghij",
        b"id=tr_" + b"a" * 300,
        b"\xff\xfe",
    ],
)
def test_a_malformed_webhook_is_invalid_without_asking_mollie(provider, mollie_api, body):
    with pytest.raises(InvalidNotification):
        provider.read_notification(body, {})

    assert mollie_api.requests_to("GET", "/v2") == []


def test_a_replayed_webhook_reports_the_same_facts(provider, mollie_api, inbox):
    tid = created(provider, mollie_api)
    mollie_api.pay(tid)
    [webhook] = mollie_api.notifications

    first = provider.read_notification(webhook.body, webhook.headers)
    assert mollie_api.redeliver(webhook).status == 200
    [(_, headers, body)] = inbox.received[1:]
    again = provider.read_notification(body, headers)

    assert first == again and first[0].status == "succeeded"


def test_a_webhook_while_mollie_is_down_is_not_acknowledged(provider, mollie_api):
    tid = created(provider, mollie_api)
    mollie_api.fail_next(503)

    with pytest.raises(InvalidNotification):
        provider.read_notification(f"id={tid}".encode(), {})


# -- errors at creation --------------------------------------------------------------------------


def test_a_5xx_at_creation_is_a_provider_error_to_fail_over(provider, mollie_api):
    mollie_api.fail_next(500)

    with pytest.raises(ProviderError) as raised:
        provider.create_checkout(checkout())

    assert not isinstance(raised.value, ProviderBadRequest)


def test_a_timeout_at_creation_is_a_provider_timeout(mollie_api):
    provider = MollieProvider(account_for(mollie_api, timeout_seconds=0.3))
    mollie_api.hang_next(2)

    with pytest.raises(ProviderTimeout):
        provider.create_checkout(checkout())


def test_an_unreachable_mollie_is_a_provider_error(mollie_api):
    provider = MollieProvider(account_for(mollie_api))
    mollie_api.stop()

    with pytest.raises(ProviderError) as raised:
        provider.create_checkout(checkout())

    assert not isinstance(raised.value, (ProviderTimeout, ProviderBadRequest))


def test_a_refused_request_is_a_bad_request(provider, mollie_api):
    with pytest.raises(ProviderBadRequest) as raised:
        provider.create_checkout(checkout(return_url="not a url"))

    assert "422" in str(raised.value) and "redirectUrl" in str(raised.value)


def test_an_auth_error_never_shows_the_key(start_fake, caplog):
    real = start_fake(MollieApiFake)
    wrong_key = "test_" + "s3cr3t" * 5
    provider = MollieProvider(account_for(real, credentials={"api_key": wrong_key}))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderBadRequest) as raised:
        provider.create_checkout(checkout())

    assert "401" in str(raised.value)
    assert wrong_key not in str(raised.value) and wrong_key not in repr(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert wrong_key not in caplog.text
    assert wrong_key not in repr(provider.account)


@pytest.mark.parametrize(
    ("mode", "key"), [("test", "sk_notmollie_123"), ("live", "test_abc123"), ("test", "live_abc")]
)
def test_an_unusable_or_mismatched_key_is_refused_without_repeating_it(mollie_api, mode, key):
    with pytest.raises(ValueError) as raised:
        MollieProvider(account_for(mollie_api, mode=mode, credentials={"api_key": key}))

    assert key not in str(raised.value)


# -- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [(1999, "EUR", "19.99"), (500, "JPY", "500"), (1500, "KWD", "1.500"), (5, "EUR", "0.05")],
)
def test_amounts_go_on_the_wire_with_the_currencys_decimals(
    provider, mollie_api, amount, currency, value
):
    tid = created(provider, mollie_api, amount=amount, currency=currency)

    sent = mollie_api.requests_to("POST", "/v2/payments")[0]
    assert sent.body["amount"] == {"currency": currency, "value": value}
    mollie_api.pay(tid)
    assert provider.get_status(tid).amount_captured == amount


def test_capabilities_and_mollies_own_rules(mollie_api):
    provider = MollieProvider(account_for(mollie_api))

    assert provider.ineligible_reason("test", "card", "EUR") is None
    assert provider.ineligible_reason("test", "card", "JPY") is None
    assert "3-decimal" in provider.ineligible_reason("test", "card", "KWD")
    assert provider.ineligible_reason("test", "ideal", "USD") is not None
    assert provider.ineligible_reason("live", "card", "EUR") is not None
    assert provider.capabilities().fees["card"].percent == 1.8

    narrowed = MollieProvider(
        account_for(mollie_api, methods=frozenset({"ideal"}), currencies=frozenset({"EUR"}))
    )
    assert narrowed.supports("test", "ideal", "EUR")
    assert not narrowed.supports("test", "card", "EUR")


# -- capture, void, refund -----------------------------------------------------------------------


def test_a_manual_capture_is_authorised_then_captured(provider, mollie_api, inbox):
    tid = created(provider, mollie_api, capture_method="manual")
    assert mollie_api.requests_to("POST", "/v2/payments")[0].body["captureMode"] == "manual"
    mollie_api.pay(tid)
    [[held]] = delivered_facts(inbox, provider)
    assert held.status == "authorized"

    captured = provider.capture(tid, 1500, "EUR", idempotency_key="cap_1")

    [sent] = mollie_api.requests_to("POST", f"/v2/payments/{tid}/captures")
    assert sent.body == {"amount": {"currency": "EUR", "value": "15.00"}}
    assert sent.header("Idempotency-Key") == "cap_1"
    assert (captured.status, captured.amount_captured) == ("succeeded", 1500)


def test_capturing_more_than_authorised_is_refused(provider, mollie_api):
    tid = created(provider, mollie_api, capture_method="manual")
    mollie_api.pay(tid)

    with pytest.raises(ProviderBadRequest):
        provider.capture(tid, 5000, "EUR", idempotency_key="cap_2")


def test_a_manual_capture_for_a_method_mollie_cannot_hold(provider, mollie_api):
    with pytest.raises(OperationUnsupported):
        provider.create_checkout(checkout(payment_method="ideal", capture_method="manual"))


def test_void_releases_the_authorisation(provider, mollie_api):
    tid = created(provider, mollie_api, capture_method="manual")
    mollie_api.pay(tid)

    voided = provider.void(tid, idempotency_key="void_1")

    [sent] = mollie_api.requests_to("POST", f"/v2/payments/{tid}/release-authorization")
    assert sent.header("Idempotency-Key") == "void_1"
    assert voided.status == "canceled"


def test_void_of_a_paid_payment_is_refused(provider, mollie_api):
    tid = created(provider, mollie_api)
    mollie_api.pay(tid)

    with pytest.raises(ProviderBadRequest):
        provider.void(tid, idempotency_key="void_2")


def test_refund_then_look_it_up_then_its_webhook(provider, mollie_api, inbox):
    tid = created(provider, mollie_api)
    mollie_api.pay(tid)
    delivered_facts(inbox, provider)

    started = provider.refund(RefundRequest("re_k1", tid, 500, "EUR", reason="Damaged"))

    [sent] = mollie_api.requests_to("POST", f"/v2/payments/{tid}/refunds")
    assert sent.header("Idempotency-Key") == "re_k1"
    assert sent.body["amount"] == {"currency": "EUR", "value": "5.00"}
    assert sent.body["metadata"] == {"kadosei_refund": "re_k1"}
    assert (started.status, started.refund_id, started.provider_reference) == (
        "pending",
        "re_k1",
        tid,
    )
    looked_up = provider.get_refund(tid, started.provider_refund_reference)
    assert looked_up.status == "pending"

    mollie_api.settle_refund(started.provider_refund_reference)

    [facts] = delivered_facts(inbox, provider)
    payment, refund = facts
    assert isinstance(payment, PaymentStatus) and payment.status == "succeeded"
    assert isinstance(refund, RefundStatus)
    assert (refund.status, refund.refund_id, refund.provider_refund_reference) == (
        "succeeded",
        "re_k1",
        started.provider_refund_reference,
    )


def test_a_failed_refund_is_reported_failed(provider, mollie_api):
    tid = created(provider, mollie_api)
    mollie_api.pay(tid)
    started = provider.refund(RefundRequest("re_k2", tid, 1999, "EUR"))

    mollie_api.settle_refund(started.provider_refund_reference, "failed")

    assert provider.get_refund(tid, started.provider_refund_reference).status == "failed"


def test_refunding_more_than_was_paid_is_refused(provider, mollie_api):
    tid = created(provider, mollie_api)
    mollie_api.pay(tid)

    with pytest.raises(ProviderBadRequest):
        provider.refund(RefundRequest("re_k3", tid, 5000, "EUR"))


def test_bad_references_are_refused_before_any_call(provider, mollie_api):
    with pytest.raises(ProviderBadRequest):
        provider.get_status("tr_abcdefghij/refunds")
    with pytest.raises(ProviderBadRequest):
        provider.expire_checkout("../v2/refunds")
    with pytest.raises(ProviderBadRequest):
        provider.refund(RefundRequest("re_k4", "../v2/payments", 100, "EUR"))
    with pytest.raises(ProviderBadRequest):
        provider.get_refund("tr_abcdefghij", "cpt_notarefund")

    assert mollie_api.requests == []
