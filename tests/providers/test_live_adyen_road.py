"""The whole road through kadosei with an Adyen account (docs/api.md §10), against the protocol
fake: a ks_live_ key routed to the account, a hosted Checkout session, the customer paying on
Adyen's page, the HMAC-signed AUTHORISATION notification acknowledged with ``[accepted]``, the
merchant's webhook; a refusal, a cancel (read from the session result on the way back),
expiry, a forged and a replayed notification, failover at creation and amounts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from kadosei.extensions import db
from kadosei.models import Event, PaymentSession, ProviderNotification
from kadosei.models.base import utcnow
from kadosei.services.reconciliation import QUIET_FOR, reconcile_quiet_sessions
from kadosei.services.session_expiry import expire_due_sessions
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.adyen_protocol import notification_item
from tests.payments.payments_support import query_of, run_jobs
from tests.providers.live_accounts import adyen_account
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
    to_hosted_page,
    wire,
)
from tests.webhooks import webhook_support

start_fake = fake_psps.start_fake
receiver = webhook_support.receiver

LIVE = {"accounts": [("adyen_eu", "live")]}


@pytest.fixture
def setup(request) -> dict:
    """The accounts (name, mode[, timeout]) and routing rules the app starts with; a test
    changes them with ``@pytest.mark.parametrize("setup", [...], indirect=True)``."""
    return getattr(request, "param", LIVE)


@pytest.fixture
def fakes(setup, start_fake) -> dict[str, AdyenCheckoutFake]:
    started = {}
    for name, mode, *_ in setup["accounts"]:
        fake = start_fake(AdyenCheckoutFake, merchant_account=f"Kadosei{name[-2:].upper()}ECOM")
        fake.live = mode == "live"
        started[name] = fake
    return started


@pytest.fixture
def app_config(redis_url, redis_client, setup, fakes, monkeypatch) -> dict:
    accounts = []
    for name, mode, *timeout in setup["accounts"]:
        account = adyen_account(name, fakes[name], mode, monkeypatch)
        if timeout:
            account["timeout_seconds"] = timeout[0]
        accounts.append(account)
    return app_config_for(redis_url, accounts, setup.get("rules"))


@pytest.fixture
def adyen(fakes, client) -> AdyenCheckoutFake:
    """The first account's Adyen, its notifications sent into kadosei when the test says."""
    name, fake = next(iter(fakes.items()))
    wire(fake, name, client)
    return fake


def session_id(hosted: str) -> str:
    return hosted.rsplit("/", 1)[1]


def session_row(session: dict) -> PaymentSession:
    return PaymentSession.query.filter_by(id=session["id"]).one()


def test_a_live_session_is_paid_through_adyen(client, factories, adyen):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(f"{adyen.url}/checkoutshopper/CS")
    (attempt,) = attempts_of(session)
    assert attempt.provider == "adyen_eu" and attempt.provider_reference == session_id(hosted)
    created = adyen.requests_to("POST", "/v72/sessions")[-1]
    assert created.header("X-API-Key") == adyen.api_key
    assert created.body["merchantAccount"] == adyen.merchant_account
    assert created.body["amount"] == {"value": 1999, "currency": "EUR"}
    assert created.body["mode"] == "hosted" and created.body["reference"] == attempt.id
    assert created.body["returnUrl"].startswith(f"https://kadosei.test/checkout/{session['id']}")

    paid = pay_on_the_fake(hosted, "4242424242424242")
    assert paid.status_code == 303
    # Back before the notification: Adyen's session result says completed, so the shop's
    # success page; only the notification decides the session.
    assert back_at_kadosei(client, paid.headers["Location"]).startswith(
        "https://shop.example/thanks"
    )
    assert adyen.requests_to("GET", f"/v72/sessions/{session_id(hosted)}")
    assert session_row(session).status == "open"

    (notification,) = adyen.deliver_pending()
    assert json.loads(notification.body)["live"] == "true"
    assert notification.attempts[-1].status == 200
    assert notification.attempts[-1].body == b"[accepted]"
    assert session_row(session).status == "succeeded"
    (noted,) = ProviderNotification.query.filter_by(provider="adyen_eu").all()
    assert (noted.reported_status, noted.attempt_id) == ("succeeded", attempt.id)
    assert Event.query.filter_by(type="payment_session.succeeded", mode="live").count() == 1

    # The same notification again (Adyen retries until [accepted]): nothing changes.
    assert adyen.redeliver(notification).status == 200
    assert session_row(session).status == "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 1


@pytest.mark.parametrize(
    "setup", [{"accounts": [("adyen_eu", "test")], "rules": NO_SANDBOXES}], indirect=True
)
def test_a_test_mode_account_pays_and_the_merchant_gets_a_verified_webhook(
    client, factories, adyen, receiver
):
    application, user, key = live_key(factories, "test")
    secret = merchant_endpoint(client, factories, application, user, receiver.url)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(f"{adyen.url}/checkoutshopper/")
    assert pay_on_the_fake(hosted, "4242424242424242").status_code == 303
    adyen.deliver_pending()
    run_jobs(client.application)

    (request,) = receiver.wait_for(1)
    payload = request.verify(secret)
    assert payload["type"] == "payment_session.succeeded" and payload["mode"] == "test"
    assert payload["data"]["object"]["id"] == session["id"]


def test_a_refusal_fails_the_attempt_with_adyens_reason(client, factories, adyen):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)

    refused = pay_on_the_fake(hosted, "4000000000009995")
    assert refused.status_code == 200 and "Not enough balance" in refused.text
    adyen.deliver_pending()

    (attempt,) = attempts_of(session)
    assert (attempt.status, attempt.error_code) == ("failed", "insufficient_funds")
    assert session_row(session).status != "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 0


def test_the_customer_cancels_on_adyens_page(client, factories, adyen):
    """Adyen sends no notification when a shopper leaves: kadosei learns it from the session
    result on the return URL, asked of Adyen itself."""
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)

    landing = cancel_on_the_fake(hosted)
    assert "sessionResult=" in landing
    assert back_at_kadosei(client, landing).startswith("https://shop.example/cart")
    assert session_row(session).status == "canceled"
    assert adyen.notifications == []


def test_a_forged_session_result_on_the_return_url_changes_nothing(client, factories, adyen):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    landing = cancel_on_the_fake(hosted)
    forged = landing.replace(query_of(landing)["sessionResult"][0], "forged")

    back_at_kadosei(client, forged)  # Adyen refuses the result: nothing learned

    assert session_row(session).status == "open"
    assert attempts_of(session)[0].status == "pending"


def test_an_expired_session_ends_without_a_call_and_a_late_payment_is_a_conflict(
    client, factories, adyen
):
    """Adyen cannot end a session early: kadosei expires it on its side; a payment made after
    that is recorded and flagged for a refund."""
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    db.session.execute(
        update(PaymentSession)
        .where(PaymentSession.id == session["id"])
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    calls = len(adyen.requests)

    assert expire_due_sessions() == 1
    assert session_row(session).status == "expired"
    assert len(adyen.requests) == calls
    assert attempts_of(session)[0].status == "expired"

    pay_on_the_fake(hosted, "4242424242424242")
    adyen.deliver_pending()
    row = session_row(session)
    assert (row.status, row.conflict) == ("expired", True)
    assert Event.query.filter_by(type="payment_session.conflict").count() == 1


def test_a_forged_notification_is_refused_and_changes_nothing(client, factories, adyen):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    (attempt,) = attempts_of(session)
    item = notification_item(
        "AUTHORISATION",
        "FORGED0000000000",
        {"value": 1999, "currency": "EUR"},
        adyen.merchant_account,
        attempt.id,
        True,
        "",
        "00" * 32,  # not the account's HMAC key
        additional={"checkoutSessionId": session_id(hosted)},
    )

    answer = adyen.send_item(item)

    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "notification_invalid"
    assert session_row(session).status == "open"
    assert ProviderNotification.query.count() == 0


def test_a_replayed_refusal_changes_nothing_more(client, factories, adyen):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    pay_on_the_fake(hosted, "4000000000000002")
    (refusal,) = adyen.deliver_pending()
    events = Event.query.count()

    assert adyen.redeliver(refusal).status == 200
    assert Event.query.count() == events
    effects = [n.effect for n in ProviderNotification.query.order_by(ProviderNotification.pk)]
    assert effects[-1] == "duplicate"


@pytest.mark.parametrize(
    "setup",
    [
        {
            "accounts": [("adyen_eu", "live"), ("adyen_us", "live")],
            "rules": {"rules": [{"kind": "fixed_split", "weights": {"adyen_eu": 100}}]},
        }
    ],
    indirect=True,
)
def test_a_5xx_at_creation_fails_over_to_the_other_adyen_account(client, factories, fakes):
    eu, us = fakes["adyen_eu"], fakes["adyen_us"]
    wire(us, "adyen_us", client)
    eu.fail_next(500)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(f"{us.url}/checkoutshopper/")
    failed, taken = attempts_of(session)
    assert (failed.provider, failed.status, failed.error_code) == (
        "adyen_eu",
        "error",
        "provider_error",
    )
    assert taken.explanation["failover_after"] == ["adyen_eu"]
    pay_on_the_fake(hosted, "4242424242424242")
    us.deliver_pending()
    assert session_row(session).status == "succeeded"


@pytest.mark.parametrize(
    "setup",
    [
        {
            "accounts": [("adyen_eu", "live", 0.5), ("adyen_us", "live")],
            "rules": {"rules": [{"kind": "fixed_split", "weights": {"adyen_eu": 100}}]},
        }
    ],
    indirect=True,
)
def test_a_timeout_at_creation_fails_over_to_the_other_adyen_account(client, factories, fakes):
    eu, us = fakes["adyen_eu"], fakes["adyen_us"]
    eu.hang_next(2)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)

    assert to_hosted_page(client, session).startswith(f"{us.url}/checkoutshopper/")
    failed, taken = attempts_of(session)
    assert (failed.provider, failed.error_code) == ("adyen_eu", "provider_timeout")
    assert taken.provider == "adyen_us"


@pytest.mark.parametrize(("currency", "amount"), [("EUR", 1999), ("JPY", 500), ("KWD", 1235)])
def test_amounts_reach_adyen_in_minor_units(client, factories, adyen, currency, amount):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key, currency=currency, amount=amount)
    to_hosted_page(client, session)
    created = adyen.requests_to("POST", "/v72/sessions")[-1]
    assert created.body["amount"] == {"value": amount, "currency": currency}


def test_reconciliation_cannot_ask_adyen_without_a_session_result(client, factories, adyen):
    """Adyen has no payment look-up by session: reconciliation makes no call and the session
    waits for the notification (or its expiry)."""
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    to_hosted_page(client, session)
    db.session.execute(
        update(PaymentSession)
        .where(PaymentSession.id == session["id"])
        .values(updated_at=utcnow() - QUIET_FOR - timedelta(minutes=1))
    )
    db.session.commit()
    calls = len(adyen.requests)

    assert reconcile_quiet_sessions() == 1
    assert len(adyen.requests) == calls
    assert session_row(session).status == "open"
