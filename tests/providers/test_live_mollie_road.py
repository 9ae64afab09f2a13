"""The whole road through kadosei with a Mollie account (docs/api.md §10), against the protocol
fake: a ks_live_ key routed to the account, the customer paying on Mollie's hosted page, the
ID-only webhook that kadosei verifies by fetching the payment, the merchant's webhook; a
decline, a cancel, expiry, a forged and a replayed webhook, failover at creation, amounts and
reconciliation."""

from __future__ import annotations

import pytest

from kadosei.models import Event
from kadosei.services.reconciliation import reconcile_quiet_sessions
from kadosei.services.session_expiry import expire_due_sessions
from tests.fakes import fixtures as fake_psps
from tests.fakes.mollie_api import MollieApiFake
from tests.providers.live_accounts import mollie_account
from tests.providers.live_road import (
    assert_declined,
    assert_refused,
    assert_succeeded_once,
    attempts_of,
    canceled_on_the_fake,
    checkout_failing_over,
    failover_setup,
    live_checkout,
    live_key,
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

WEBHOOK_URL = "https://kadosei.test/providers/{}/notifications"
setup, app_config = road_fixtures({"accounts": [("mollie_nl", "live")]}, mollie_account)


@pytest.fixture
def fakes(setup, start_fake) -> dict[str, MollieApiFake]:
    """One fake Mollie per account, with a key of the account's mode (live_… or test_…)."""
    return {
        name: start_fake(MollieApiFake, api_key=f"{mode}_" + "k" * 30 + name[-2:])
        for name, mode, *_ in setup["accounts"]
    }


@pytest.fixture
def mollie(fakes, client) -> MollieApiFake:
    """The first account's Mollie, its webhooks sent into kadosei when the test says."""
    return wire_first(fakes, client)


def test_a_live_session_is_paid_through_mollie(client, factories, mollie):
    session, hosted = live_checkout(client, factories)

    assert hosted.startswith(f"{mollie.url}/checkout/tr_")
    (attempt,) = attempts_of(session)
    assert attempt.provider == "mollie_nl"
    assert attempt.provider_reference == provider_reference(hosted)
    created = mollie.requests_to("POST", "/v2/payments")[-1]
    assert created.header("Authorization") == f"Bearer {mollie.api_key}"
    assert created.body["amount"] == {"currency": "EUR", "value": "19.99"}
    assert created.body["webhookUrl"] == WEBHOOK_URL.format("mollie_nl")
    assert created.body["redirectUrl"].startswith(f"https://kadosei.test/checkout/{session['id']}")
    assert created.body["method"] == "creditcard"

    paid_and_back(client, hosted)
    (webhook,) = mollie.deliver_pending()
    assert webhook.body == f"id={provider_reference(hosted)}".encode()  # nothing else, no signature
    assert webhook.attempts[-1].status == 200 and webhook.attempts[-1].body == b""
    assert_succeeded_once(mollie, webhook, session, attempt)


@pytest.mark.parametrize("setup", [one_test_mode_account("mollie_nl")], indirect=True)
def test_a_test_mode_account_pays_and_the_merchant_gets_a_verified_webhook(
    client, factories, mollie, receiver
):
    paid_in_test_mode(client, factories, mollie, receiver, "mollie_nl")


def test_a_decline_fails_the_attempt_with_mollies_reason(client, factories, mollie):
    session, hosted = live_checkout(client, factories)

    pay_on_the_fake(hosted, "4000000000009995")
    mollie.deliver_pending()

    assert_declined(session, "insufficient_funds")


def test_the_customer_cancels_on_mollies_page(client, factories, mollie):
    session, _ = canceled_on_the_fake(client, factories)

    mollie.deliver_pending()  # Mollie's own webhook about it changes nothing more
    assert session_row(session).status == "canceled"
    assert Event.query.filter_by(type="payment_session.canceled").count() == 1


def test_an_expired_session_waits_for_mollie_to_close_an_open_card_payment(
    client, factories, mollie
):
    """Mollie cannot cancel an open card payment (the customer may be paying): the session
    stays open until Mollie expires the payment, then the sweep expires the session."""
    session, hosted = live_checkout(client, factories)
    past_expiry(session)

    assert expire_due_sessions() == 0
    assert session_row(session).status == "open"
    assert mollie.requests_to("DELETE", "/v2/payments") == []

    mollie.expire(provider_reference(hosted))
    mollie.deliver_pending()
    assert attempts_of(session)[0].status == "expired"
    assert expire_due_sessions() == 1
    assert session_row(session).status == "expired"
    assert Event.query.filter_by(type="payment_session.expired").count() == 1


def test_an_expired_session_cancels_a_cancelable_payment_at_mollie(client, factories, mollie):
    mollie.open_is_cancelable = True
    session, hosted = live_checkout(client, factories)
    past_expiry(session)

    assert expire_due_sessions() == 1

    assert len(mollie.requests_to("DELETE", f"/v2/payments/{provider_reference(hosted)}")) == 1
    assert session_row(session).status == "expired"
    assert attempts_of(session)[0].status == "expired"
    mollie.deliver_pending()  # Mollie's webhook about the canceled payment: out of order
    assert session_row(session).status == "expired"


def test_a_forged_webhook_is_refused_or_changes_nothing(client, factories, mollie):
    session, hosted = live_checkout(client, factories)
    url = WEBHOOK_URL.format("mollie_nl")

    unknown = mollie.send_webhook(url, "tr_NotThisAccounts1")
    assert unknown.status == 400  # Mollie does not know the payment: a forgery
    malformed = mollie.send_raw(url, {"Content-Type": "text/plain"}, b"id=cs_123&status=paid")
    assert malformed.status == 400
    # A real id but an open payment: only what Mollie answers counts, not that a call came.
    assert mollie.send_webhook(url, provider_reference(hosted)).status == 200
    assert session_row(session).status == "open"
    assert attempts_of(session)[0].status == "pending"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 0


def test_a_webhook_while_mollie_is_down_is_answered_503_and_applied_when_sent_again(
    client, factories, mollie
):
    session, hosted = live_checkout(client, factories)
    pay_on_the_fake(hosted, "4242424242424242")
    mollie.fail_next(503)  # the fetch that verifies the webhook

    (webhook,) = mollie.deliver_pending()
    assert webhook.attempts[-1].status in (400, 503)  # not acknowledged: Mollie sends it again
    assert session_row(session).status == "open"
    assert mollie.redeliver(webhook).status == 200
    assert session_row(session).status == "succeeded"


@pytest.mark.parametrize("setup", [failover_setup("mollie_nl", "mollie_be")], indirect=True)
def test_a_5xx_at_creation_fails_over_to_the_other_mollie_account(client, factories, fakes):
    paid_after_failover(client, factories, fakes, "mollie_nl", "mollie_be")


@pytest.mark.parametrize("setup", [failover_setup("mollie_nl", "mollie_be", 0.5)], indirect=True)
def test_a_timeout_at_creation_fails_over_to_the_other_mollie_account(client, factories, fakes):
    fakes["mollie_nl"].hang_next(2)
    checkout_failing_over(client, factories, fakes, "mollie_nl", "provider_timeout", "mollie_be")


@pytest.mark.parametrize(
    ("currency", "amount", "value"), [("EUR", 1999, "19.99"), ("JPY", 500, "500")]
)
def test_amounts_reach_mollie_with_the_currencys_decimals(
    client, factories, mollie, currency, amount, value
):
    live_checkout(client, factories, currency=currency, amount=amount)
    created = mollie.requests_to("POST", "/v2/payments")[-1]
    assert created.body["amount"] == {"currency": currency, "value": value}


def test_three_decimal_currencies_are_not_taken_by_mollie(client, factories, mollie):
    _, _, key = live_key(factories)
    assert_refused(client, factories, key, currency="KWD", amount=1500)
    assert mollie.requests == []


def test_reconciliation_asks_mollie_about_a_processing_payment_whose_webhook_was_lost(
    client, factories, mollie
):
    session, hosted = live_checkout(client, factories)
    pay_on_the_fake(hosted, "4000000000000259")  # Mollie: pending, settles later
    mollie.deliver_pending()
    assert session_row(session).status == "processing"

    mollie.settle(provider_reference(hosted))  # paid at Mollie; the webhook never arrives
    mollie.hold_notifications = True
    quiet_for_reconciliation(session)

    assert reconcile_quiet_sessions() == 1
    assert session_row(session).status == "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 1


def test_reconciliation_finds_a_paid_open_session_whose_customer_never_came_back(
    client, factories, mollie
):
    session, hosted = live_checkout(client, factories)
    pay_on_the_fake(hosted, "4242424242424242")  # the tab is closed; the webhook is lost
    quiet_for_reconciliation(session)

    assert reconcile_quiet_sessions() == 1
    assert session_row(session).status == "succeeded"
