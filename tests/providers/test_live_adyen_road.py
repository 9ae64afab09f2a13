"""The whole road through kadosei with an Adyen account (docs/api.md §10), against the protocol
fake: a ks_live_ key routed to the account, a hosted Checkout session, the customer paying on
Adyen's page, the HMAC-signed AUTHORISATION notification acknowledged with ``[accepted]``, the
merchant's webhook; a refusal, a cancel (read from the session result on the way back),
expiry, a forged and a replayed notification, failover at creation and amounts."""

from __future__ import annotations

import json

import pytest

from kadosei.models import Event, ProviderNotification
from kadosei.services.reconciliation import reconcile_quiet_sessions
from kadosei.services.session_expiry import expire_due_sessions
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.adyen_protocol import notification_item
from tests.payments.payments_support import query_of
from tests.providers.live_accounts import adyen_account
from tests.providers.live_road import (
    assert_declined,
    assert_forgery_refused,
    assert_succeeded_once,
    attempts_of,
    back_at_kadosei,
    cancel_on_the_fake,
    canceled_on_the_fake,
    checkout_failing_over,
    failover_setup,
    live_checkout,
    one_test_mode_account,
    paid_after_failover,
    paid_and_back,
    paid_in_test_mode,
    past_expiry,
    pay_on_the_fake,
    provider_reference,
    quiet_for_reconciliation,
    road_fixtures,
    session_row,
    wire_first,
)
from tests.webhooks import webhook_support

start_fake = fake_psps.start_fake
receiver = webhook_support.receiver

setup, app_config = road_fixtures({"accounts": [("adyen_eu", "live")]}, adyen_account)


@pytest.fixture
def fakes(setup, start_fake) -> dict[str, AdyenCheckoutFake]:
    started = {}
    for name, mode, *_ in setup["accounts"]:
        fake = start_fake(AdyenCheckoutFake, merchant_account=f"Kadosei{name[-2:].upper()}ECOM")
        fake.live = mode == "live"
        started[name] = fake
    return started


@pytest.fixture
def adyen(fakes, client) -> AdyenCheckoutFake:
    """The first account's Adyen, its notifications sent into kadosei when the test says."""
    return wire_first(fakes, client)


def test_a_live_session_is_paid_through_adyen(client, factories, adyen):
    session, hosted = live_checkout(client, factories)

    assert hosted.startswith(f"{adyen.url}/checkoutshopper/CS")
    (attempt,) = attempts_of(session)
    assert attempt.provider == "adyen_eu"
    assert attempt.provider_reference == provider_reference(hosted)
    created = adyen.requests_to("POST", "/v72/sessions")[-1]
    assert created.header("X-API-Key") == adyen.api_key
    assert created.body["merchantAccount"] == adyen.merchant_account
    assert created.body["amount"] == {"value": 1999, "currency": "EUR"}
    assert created.body["mode"] == "hosted" and created.body["reference"] == attempt.id
    assert created.body["returnUrl"].startswith(f"https://kadosei.test/checkout/{session['id']}")

    # Back before the notification: Adyen's session result says completed, so the shop's
    # success page; only the notification decides the session.
    paid_and_back(client, hosted)
    assert adyen.requests_to("GET", f"/v72/sessions/{provider_reference(hosted)}")
    assert session_row(session).status == "open"

    (notification,) = adyen.deliver_pending()
    assert json.loads(notification.body)["live"] == "true"
    assert notification.attempts[-1].status == 200
    assert notification.attempts[-1].body == b"[accepted]"
    assert_succeeded_once(adyen, notification, session, attempt)


@pytest.mark.parametrize("setup", [one_test_mode_account("adyen_eu")], indirect=True)
def test_a_test_mode_account_pays_and_the_merchant_gets_a_verified_webhook(
    client, factories, adyen, receiver
):
    paid_in_test_mode(client, factories, adyen, receiver, "adyen_eu")


def test_a_refusal_fails_the_attempt_with_adyens_reason(client, factories, adyen):
    session, hosted = live_checkout(client, factories)

    refused = pay_on_the_fake(hosted, "4000000000009995")
    assert refused.status_code == 200 and "Not enough balance" in refused.text
    adyen.deliver_pending()

    assert_declined(session, "insufficient_funds")


def test_the_customer_cancels_on_adyens_page(client, factories, adyen):
    """Adyen sends no notification when a shopper leaves: kadosei learns it from the session
    result on the return URL, asked of Adyen itself."""
    _, landing = canceled_on_the_fake(client, factories)

    assert "sessionResult=" in landing
    assert adyen.notifications == []


def test_a_forged_session_result_on_the_return_url_changes_nothing(client, factories, adyen):
    session, hosted = live_checkout(client, factories)
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
    session, hosted = live_checkout(client, factories)
    past_expiry(session)
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
    session, hosted = live_checkout(client, factories)
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
        additional={"checkoutSessionId": provider_reference(hosted)},
    )

    assert_forgery_refused(adyen.send_item(item), session)


def test_a_replayed_refusal_changes_nothing_more(client, factories, adyen):
    _, hosted = live_checkout(client, factories)
    pay_on_the_fake(hosted, "4000000000000002")
    (refusal,) = adyen.deliver_pending()
    events = Event.query.count()

    assert adyen.redeliver(refusal).status == 200
    assert Event.query.count() == events
    effects = [n.effect for n in ProviderNotification.query.order_by(ProviderNotification.pk)]
    assert effects[-1] == "duplicate"


@pytest.mark.parametrize("setup", [failover_setup("adyen_eu", "adyen_us")], indirect=True)
def test_a_5xx_at_creation_fails_over_to_the_other_adyen_account(client, factories, fakes):
    paid_after_failover(client, factories, fakes, "adyen_eu", "adyen_us")


@pytest.mark.parametrize("setup", [failover_setup("adyen_eu", "adyen_us", 0.5)], indirect=True)
def test_a_timeout_at_creation_fails_over_to_the_other_adyen_account(client, factories, fakes):
    fakes["adyen_eu"].hang_next(2)
    checkout_failing_over(client, factories, fakes, "adyen_eu", "provider_timeout", "adyen_us")


@pytest.mark.parametrize(("currency", "amount"), [("EUR", 1999), ("JPY", 500), ("KWD", 1235)])
def test_amounts_reach_adyen_in_minor_units(client, factories, adyen, currency, amount):
    live_checkout(client, factories, currency=currency, amount=amount)
    created = adyen.requests_to("POST", "/v72/sessions")[-1]
    assert created.body["amount"] == {"value": amount, "currency": currency}


def test_reconciliation_cannot_ask_adyen_without_a_session_result(client, factories, adyen):
    """Adyen has no payment look-up by session: reconciliation makes no call and the session
    waits for the notification (or its expiry)."""
    session, _ = live_checkout(client, factories)
    quiet_for_reconciliation(session)
    calls = len(adyen.requests)

    assert reconcile_quiet_sessions() == 1
    assert len(adyen.requests) == calls
    assert session_row(session).status == "open"
