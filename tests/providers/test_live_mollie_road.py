"""The whole road through kadosei with a Mollie account (docs/api.md §10), against the protocol
fake: a ks_live_ key routed to the account, the customer paying on Mollie's hosted page, the
ID-only webhook that kadosei verifies by fetching the payment, the merchant's webhook; a
decline, a cancel, expiry, a forged and a replayed webhook, failover at creation, amounts and
reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from kadosei.extensions import db
from kadosei.models import Event, PaymentSession, ProviderNotification
from kadosei.models.base import utcnow
from kadosei.services.reconciliation import QUIET_FOR, reconcile_quiet_sessions
from kadosei.services.session_expiry import expire_due_sessions
from tests.fakes import fixtures as fake_psps
from tests.fakes.mollie_api import MollieApiFake
from tests.payments.payments_support import run_jobs, session_body
from tests.providers.live_accounts import mollie_account
from tests.providers.live_road import (
    NO_SANDBOXES,
    app_config_for,
    attempts_of,
    back_at_kadosei,
    cancel_on_the_fake,
    create_session,
    live_key,
    merchant_endpoint,
    pay_on_the_fake,
    read_session,
    to_hosted_page,
    wire,
)
from tests.webhooks import webhook_support

start_fake = fake_psps.start_fake
receiver = webhook_support.receiver

WEBHOOK_URL = "https://kadosei.test/providers/{}/notifications"
LIVE = {"accounts": [("mollie_nl", "live")]}


@pytest.fixture
def setup(request) -> dict:
    """The accounts (name, mode[, timeout]) and routing rules the app starts with; a test
    changes them with ``@pytest.mark.parametrize("setup", [...], indirect=True)``."""
    return getattr(request, "param", LIVE)


@pytest.fixture
def fakes(setup, start_fake) -> dict[str, MollieApiFake]:
    """One fake Mollie per account, with a key of the account's mode (live_… or test_…)."""
    return {
        name: start_fake(MollieApiFake, api_key=f"{mode}_" + "k" * 30 + name[-2:])
        for name, mode, *_ in setup["accounts"]
    }


@pytest.fixture
def app_config(redis_url, redis_client, setup, fakes, monkeypatch) -> dict:
    accounts = []
    for name, mode, *timeout in setup["accounts"]:
        account = mollie_account(name, fakes[name], mode, monkeypatch)
        if timeout:
            account["timeout_seconds"] = timeout[0]
        accounts.append(account)
    return app_config_for(redis_url, accounts, setup.get("rules"))


@pytest.fixture
def mollie(fakes, client) -> MollieApiFake:
    """The first account's Mollie, its webhooks sent into kadosei when the test says."""
    name, fake = next(iter(fakes.items()))
    wire(fake, name, client)
    return fake


def payment_id(hosted: str) -> str:
    return hosted.rsplit("/", 1)[1]


def session_row(session: dict) -> PaymentSession:
    return PaymentSession.query.filter_by(id=session["id"]).one()


def quiet_since(session: dict, delta: timedelta) -> None:
    db.session.execute(
        update(PaymentSession)
        .where(PaymentSession.id == session["id"])
        .values(updated_at=utcnow() - delta, expires_at=utcnow() + timedelta(hours=1))
    )
    db.session.commit()


def past_expiry(session: dict) -> None:
    db.session.execute(
        update(PaymentSession)
        .where(PaymentSession.id == session["id"])
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def test_a_live_session_is_paid_through_mollie(client, factories, mollie):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(f"{mollie.url}/checkout/tr_")
    (attempt,) = attempts_of(session)
    assert attempt.provider == "mollie_nl" and attempt.provider_reference == payment_id(hosted)
    created = mollie.requests_to("POST", "/v2/payments")[-1]
    assert created.header("Authorization") == f"Bearer {mollie.api_key}"
    assert created.body["amount"] == {"currency": "EUR", "value": "19.99"}
    assert created.body["webhookUrl"] == WEBHOOK_URL.format("mollie_nl")
    assert created.body["redirectUrl"].startswith(f"https://kadosei.test/checkout/{session['id']}")
    assert created.body["method"] == "creditcard"

    paid = pay_on_the_fake(hosted, "4242424242424242")
    assert paid.status_code == 303
    assert back_at_kadosei(client, paid.headers["Location"]).startswith(
        "https://shop.example/thanks"
    )
    (webhook,) = mollie.deliver_pending()
    assert webhook.body == f"id={payment_id(hosted)}".encode()  # nothing else, no signature
    assert webhook.attempts[-1].status == 200 and webhook.attempts[-1].body == b""
    assert session_row(session).status == "succeeded"
    (noted,) = ProviderNotification.query.filter_by(provider="mollie_nl").all()
    assert (noted.reported_status, noted.attempt_id) == ("succeeded", attempt.id)
    assert Event.query.filter_by(type="payment_session.succeeded", mode="live").count() == 1

    # The same webhook again: Mollie is asked again, nothing changes.
    assert mollie.redeliver(webhook).status == 200
    assert session_row(session).status == "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 1


@pytest.mark.parametrize(
    "setup", [{"accounts": [("mollie_nl", "test")], "rules": NO_SANDBOXES}], indirect=True
)
def test_a_test_mode_account_pays_and_the_merchant_gets_a_verified_webhook(
    client, factories, mollie, receiver
):
    application, user, key = live_key(factories, "test")
    secret = merchant_endpoint(client, factories, application, user, receiver.url)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(f"{mollie.url}/checkout/")
    assert pay_on_the_fake(hosted, "4242424242424242").status_code == 303
    mollie.deliver_pending()
    run_jobs(client.application)

    (request,) = receiver.wait_for(1)
    payload = request.verify(secret)  # Standard Webhooks signature, the endpoint's secret
    assert payload["type"] == "payment_session.succeeded" and payload["mode"] == "test"
    assert payload["data"]["object"]["id"] == session["id"]
    assert payload["data"]["object"]["status"] == "succeeded"


def test_a_decline_fails_the_attempt_with_mollies_reason(client, factories, mollie):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)

    pay_on_the_fake(hosted, "4000000000009995")
    mollie.deliver_pending()

    (attempt,) = attempts_of(session)
    assert (attempt.status, attempt.error_code) == ("failed", "insufficient_funds")
    shown = read_session(client, factories, key, session)
    assert shown["status"] != "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 0


def test_the_customer_cancels_on_mollies_page(client, factories, mollie):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)

    landing = cancel_on_the_fake(hosted)
    assert back_at_kadosei(client, landing).startswith("https://shop.example/cart")
    assert session_row(session).status == "canceled"
    mollie.deliver_pending()  # Mollie's own webhook about it changes nothing more
    assert session_row(session).status == "canceled"
    assert Event.query.filter_by(type="payment_session.canceled").count() == 1


def test_an_expired_session_waits_for_mollie_to_close_an_open_card_payment(
    client, factories, mollie
):
    """Mollie cannot cancel an open card payment (the customer may be paying): the session
    stays open until Mollie expires the payment, then the sweep expires the session."""
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    past_expiry(session)

    assert expire_due_sessions() == 0
    assert session_row(session).status == "open"
    assert mollie.requests_to("DELETE", "/v2/payments") == []

    mollie.expire(payment_id(hosted))
    mollie.deliver_pending()
    assert attempts_of(session)[0].status == "expired"
    assert expire_due_sessions() == 1
    assert session_row(session).status == "expired"
    assert Event.query.filter_by(type="payment_session.expired").count() == 1


def test_an_expired_session_cancels_a_cancelable_payment_at_mollie(client, factories, mollie):
    mollie.open_is_cancelable = True
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    past_expiry(session)

    assert expire_due_sessions() == 1

    assert len(mollie.requests_to("DELETE", f"/v2/payments/{payment_id(hosted)}")) == 1
    assert session_row(session).status == "expired"
    assert attempts_of(session)[0].status == "expired"
    mollie.deliver_pending()  # Mollie's webhook about the canceled payment: out of order
    assert session_row(session).status == "expired"


def test_a_forged_webhook_is_refused_or_changes_nothing(client, factories, mollie):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    url = WEBHOOK_URL.format("mollie_nl")

    unknown = mollie.send_webhook(url, "tr_NotThisAccounts1")
    assert unknown.status == 400  # Mollie does not know the payment: a forgery
    malformed = mollie.send_raw(url, {"Content-Type": "text/plain"}, b"id=cs_123&status=paid")
    assert malformed.status == 400
    # A real id but an open payment: only what Mollie answers counts, not that a call came.
    assert mollie.send_webhook(url, payment_id(hosted)).status == 200
    assert session_row(session).status == "open"
    assert attempts_of(session)[0].status == "pending"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 0


def test_a_webhook_while_mollie_is_down_is_answered_503_and_applied_when_sent_again(
    client, factories, mollie
):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    pay_on_the_fake(hosted, "4242424242424242")
    mollie.fail_next(503)  # the fetch that verifies the webhook

    (webhook,) = mollie.deliver_pending()
    assert webhook.attempts[-1].status in (400, 503)  # not acknowledged: Mollie sends it again
    assert session_row(session).status == "open"
    assert mollie.redeliver(webhook).status == 200
    assert session_row(session).status == "succeeded"


@pytest.mark.parametrize(
    "setup",
    [
        {
            "accounts": [("mollie_nl", "live"), ("mollie_be", "live")],
            "rules": {"rules": [{"kind": "fixed_split", "weights": {"mollie_nl": 100}}]},
        }
    ],
    indirect=True,
)
def test_a_5xx_at_creation_fails_over_to_the_other_mollie_account(client, factories, fakes):
    nl, be = fakes["mollie_nl"], fakes["mollie_be"]
    wire(be, "mollie_be", client)
    nl.fail_next(503)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(f"{be.url}/checkout/")
    failed, taken = attempts_of(session)
    assert (failed.provider, failed.status, failed.error_code) == (
        "mollie_nl",
        "error",
        "provider_error",
    )
    assert (taken.provider, taken.status) == ("mollie_be", "pending")
    assert taken.explanation["failover_after"] == ["mollie_nl"]
    pay_on_the_fake(hosted, "4242424242424242")
    be.deliver_pending()
    assert session_row(session).status == "succeeded"


@pytest.mark.parametrize(
    "setup",
    [
        {
            "accounts": [("mollie_nl", "live", 0.5), ("mollie_be", "live")],
            "rules": {"rules": [{"kind": "fixed_split", "weights": {"mollie_nl": 100}}]},
        }
    ],
    indirect=True,
)
def test_a_timeout_at_creation_fails_over_to_the_other_mollie_account(client, factories, fakes):
    nl, be = fakes["mollie_nl"], fakes["mollie_be"]
    nl.hang_next(2)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)

    assert to_hosted_page(client, session).startswith(f"{be.url}/checkout/")
    failed, taken = attempts_of(session)
    assert (failed.provider, failed.error_code) == ("mollie_nl", "provider_timeout")
    assert taken.provider == "mollie_be"


@pytest.mark.parametrize(
    ("currency", "amount", "value"), [("EUR", 1999, "19.99"), ("JPY", 500, "500")]
)
def test_amounts_reach_mollie_with_the_currencys_decimals(
    client, factories, mollie, currency, amount, value
):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key, currency=currency, amount=amount)
    to_hosted_page(client, session)
    created = mollie.requests_to("POST", "/v2/payments")[-1]
    assert created.body["amount"] == {"currency": currency, "value": value}


def test_three_decimal_currencies_are_not_taken_by_mollie(client, factories, mollie):
    _, _, key = live_key(factories)
    answer = client.post(
        "/api/v1/payment_sessions",
        json=session_body(currency="KWD", amount=1500),
        headers=factories.key_headers(key),
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "no_provider_available"
    assert mollie.requests == []


def test_reconciliation_asks_mollie_about_a_processing_payment_whose_webhook_was_lost(
    client, factories, mollie
):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    pay_on_the_fake(hosted, "4000000000000259")  # Mollie: pending, settles later
    mollie.deliver_pending()
    assert session_row(session).status == "processing"

    mollie.settle(payment_id(hosted))  # paid at Mollie; the webhook never arrives
    mollie.hold_notifications = True
    quiet_since(session, QUIET_FOR + timedelta(minutes=1))

    assert reconcile_quiet_sessions() == 1
    assert session_row(session).status == "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 1


def test_reconciliation_finds_a_paid_open_session_whose_customer_never_came_back(
    client, factories, mollie
):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    pay_on_the_fake(hosted, "4242424242424242")  # the tab is closed; the webhook is lost
    quiet_since(session, QUIET_FOR + timedelta(minutes=1))

    assert reconcile_quiet_sessions() == 1
    assert session_row(session).status == "succeeded"
