"""The whole road through kadosei with a Stripe account (docs/api.md §10), against the protocol
fake: KADOSEI_PROVIDERS with credentials from the environment, a ks_live_ key routed to the
account, the customer paying on the fake's hosted page, the signed notification, the merchant's
webhook; a decline; failover between two Stripe accounts; a forged notification."""

from __future__ import annotations

import html
import json
import re

import pytest
import requests

from kadosei.extensions import db
from kadosei.models import Event, PaymentSession, ProviderNotification
from kadosei.services.checkout_links import notification_url
from kadosei.services.session_expiry import expire_due_sessions
from tests.fakes import fixtures as fake_psps
from tests.fakes.stripe_api import StripeApiFake
from tests.payments.payments_support import path_of
from tests.providers.live_accounts import stripe_account
from tests.providers.live_road import (
    NO_SANDBOXES,
    accounts_for,
    app_config_for,
    assert_refused,
    attempts_of,
    back_at_kadosei,
    checkout_failing_over,
    create_session,
    failover_setup,
    live_checkout,
    live_key,
    paid_in_test_mode,
    past_expiry,
    pay_on_the_fake,
    session_row,
    wire,
)
from tests.webhooks import webhook_support

stripe_api = fake_psps.stripe_api
start_fake = fake_psps.start_fake
receiver = webhook_support.receiver


LIVE_EU = {"accounts": [("stripe_eu", "live")]}


@pytest.fixture
def setup(request) -> dict:
    """The accounts (name, mode) and the routing rules the app starts with; a test changes
    them with ``@pytest.mark.parametrize("setup", [...], indirect=True)``."""
    return getattr(request, "param", LIVE_EU)


@pytest.fixture
def fakes(setup, stripe_api, start_fake) -> dict[str, StripeApiFake]:
    """One fake Stripe per account, by account name (the first is ``stripe_api``)."""
    names = [name for name, *_ in setup["accounts"]]
    return {
        name: stripe_api if i == 0 else start_fake(StripeApiFake) for i, name in enumerate(names)
    }


@pytest.fixture
def app_config(redis_url, redis_client, setup, fakes, monkeypatch) -> dict:
    accounts = accounts_for(setup, fakes, stripe_account, monkeypatch)
    return app_config_for(redis_url, accounts, setup.get("rules"))


def test_a_live_session_is_paid_through_stripe(client, factories, stripe_api):
    wire(stripe_api, "stripe_eu", client)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    assert session["mode"] == "live"

    to_stripe = client.get(path_of(session["checkout_url"]))
    assert to_stripe.status_code == 303
    hosted = to_stripe.headers["Location"]
    assert hosted.startswith(f"{stripe_api.url}/pay/cs_")
    (attempt,) = attempts_of(session)
    assert attempt.provider == "stripe_eu" and attempt.explanation["chosen"] == "stripe_eu"
    created = stripe_api.requests_to("POST", "/v1/checkout/sessions")[-1]
    assert created.headers["Authorization"] == f"Bearer {stripe_api.secret_key}"
    with client.application.test_request_context():
        assert notification_url("stripe_eu") == (
            "https://kadosei.test/providers/stripe_eu/notifications"
        )

    paid = pay_on_the_fake(hosted, "4242424242424242")
    assert paid.status_code == 303 and paid.headers["Location"].startswith("https://kadosei.test/")
    back = client.get(path_of(paid.headers["Location"]))
    assert back.status_code == 303
    assert back.headers["Location"].startswith("https://shop.example/thanks")

    delivered = stripe_api.deliver_pending()
    assert [n.attempts[-1].status for n in delivered] == [200] * len(delivered)
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    assert row.status == "succeeded"
    noted = ProviderNotification.query.filter_by(provider="stripe_eu").all()
    assert "succeeded" in {n.reported_status for n in noted}
    assert Event.query.filter_by(type="payment_session.succeeded", mode="live").count() == 1
    # The same notification again changes nothing.
    stripe_api.redeliver(delivered[0])
    assert PaymentSession.query.filter_by(id=session["id"]).one().status == "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 1


@pytest.mark.parametrize(
    "setup", [{"accounts": [("stripe_eu", "test")], "rules": NO_SANDBOXES}], indirect=True
)
def test_a_test_mode_account_takes_a_test_key_and_the_merchant_gets_a_verified_webhook(
    client, factories, stripe_api, receiver
):
    """A ``mode: test`` account serves ks_test_ keys beside the sandboxes (disabled here by
    configured rules, so routing has only the Stripe account); the merchant's test endpoint
    on 127.0.0.1 receives the verified webhook (live endpoints must be public https)."""
    wire(stripe_api, "stripe_eu", client)
    payload = paid_in_test_mode(client, factories, stripe_api, receiver)
    row = PaymentSession.query.filter_by(id=payload["data"]["object"]["id"]).one()
    assert row.provider == "stripe_eu"


def test_the_customer_cancels_on_stripes_page(client, factories, stripe_api):
    wire(stripe_api, "stripe_eu", client)
    session, hosted = live_checkout(client, factories)
    page = requests.get(hosted, timeout=5).text
    cancel_link = re.search(r"class='cancel' href='([^']+)'", page).group(1)

    assert back_at_kadosei(client, html.unescape(cancel_link)).startswith(
        "https://shop.example/cart"
    )
    assert session_row(session).status == "canceled"
    assert stripe_api.sessions[hosted.rsplit("/", 1)[1]]["status"] == "expired"
    stripe_api.deliver_pending()  # Stripe's checkout.session.expired changes nothing more
    assert session_row(session).status == "canceled"


def test_an_expired_session_expires_the_checkout_session_at_stripe(client, factories, stripe_api):
    wire(stripe_api, "stripe_eu", client)
    session, hosted = live_checkout(client, factories)
    past_expiry(session)

    assert expire_due_sessions() == 1

    sid = hosted.rsplit("/", 1)[1]
    assert len(stripe_api.requests_to("POST", f"/v1/checkout/sessions/{sid}/expire")) == 1
    assert stripe_api.sessions[sid]["status"] == "expired"
    assert session_row(session).status == "expired"
    assert Event.query.filter_by(type="payment_session.expired", mode="live").count() == 1


def test_a_decline_fails_the_attempt_with_stripes_code(client, factories, stripe_api):
    wire(stripe_api, "stripe_eu", client)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    declined = pay_on_the_fake(hosted, "4000000000009995")
    assert declined.status_code == 200 and "insufficient funds" in declined.text
    stripe_api.deliver_pending()
    (attempt,) = attempts_of(session)
    assert attempt.status == "failed"
    shown = client.get(
        f"/api/v1/payment_sessions/{session['id']}", headers=factories.key_headers(key)
    ).get_json()
    assert shown["status"] != "succeeded"
    assert "insufficient_funds" in json.dumps(shown)


@pytest.mark.parametrize("setup", [failover_setup("stripe_eu", "stripe_us")], indirect=True)
def test_a_5xx_at_creation_fails_over_to_the_other_stripe_account(client, factories, fakes):
    eu, us = fakes["stripe_eu"], fakes["stripe_us"]
    wire(us, "stripe_us", client)
    eu.fail_next(503)
    session, hosted = checkout_failing_over(
        client, factories, fakes, "stripe_eu", "provider_error", "stripe_us"
    )
    assert len(eu.requests_to("POST", "/v1/checkout/sessions")) == 1
    assert pay_on_the_fake(hosted, "4242424242424242").status_code == 303
    us.deliver_pending()
    assert session_row(session).status == "succeeded"


@pytest.mark.parametrize("setup", [failover_setup("stripe_eu", "stripe_us", 0.5)], indirect=True)
def test_a_timeout_at_creation_fails_over_to_the_other_stripe_account(client, factories, fakes):
    fakes["stripe_eu"].hang_next(2)
    checkout_failing_over(client, factories, fakes, "stripe_eu", "provider_timeout", "stripe_us")


def test_a_notification_that_needs_stripe_while_it_is_down_is_a_503_and_is_applied_later(
    client, factories, stripe_api
):
    wire(stripe_api, "stripe_eu", client)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    stripe_api.hold_notifications = True
    pay_on_the_fake(hosted, "4000000000009995")  # payment_intent.payment_failed: ask Stripe
    stripe_api.fail_next(503)  # the one call kadosei makes to find the payment's session

    held = stripe_api.deliver_pending()
    answers = [n.attempts[-1] for n in held]
    assert 503 in [answer.status for answer in answers]
    refused = next(answer for answer in answers if answer.status == 503)
    assert json.loads(refused.body)["error"]["code"] == "provider_unavailable"
    assert attempts_of(session)[0].status == "pending"

    for notification in held:  # Stripe is back; it sends the same notification again
        stripe_api.redeliver(notification)
    (attempt,) = attempts_of(session)
    assert (attempt.status, attempt.error_code) == ("failed", "insufficient_funds")


def test_a_forged_notification_is_refused_and_changes_nothing(client, factories, stripe_api):
    wire(stripe_api, "stripe_eu", client)
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    sid = hosted.rsplit("/", 1)[1]
    event = {
        "id": "evt_forged",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": sid,
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
            }
        },
    }
    answer = stripe_api.send_event(event, secret="whsec_not_the_accounts")
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "notification_invalid"
    assert PaymentSession.query.filter_by(id=session["id"]).one().status == "open"
    assert ProviderNotification.query.count() == 0
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 0


def test_live_mode_without_an_account_for_the_currency_is_no_provider_available(client, factories):
    _, _, key = live_key(factories)
    assert_refused(client, factories, key, currency="XOF", amount=5000)
    # KWD Stripe takes, but not an amount it cannot express (three decimals must end in 0).
    assert_refused(client, factories, key, currency="KWD", amount=1235)
    assert PaymentSession.query.count() == 0
    assert create_session(client, factories, key)["mode"] == "live"  # EUR: the account takes it
    assert create_session(client, factories, key, currency="KWD", amount=1230)["amount"] == 1230


@pytest.mark.parametrize(
    "setup", [{"accounts": [("stripe_eu", "test"), ("stripe_us", "live")]}], indirect=True
)
def test_the_registry_is_the_sandboxes_then_each_account(app):
    from kadosei.providers.registry import all_providers, eligible_providers, get_provider
    from kadosei.providers.stripe import StripeProvider

    sandboxes = ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"]
    assert [p.name for p in all_providers()] == [*sandboxes, "stripe_eu", "stripe_us"]
    assert isinstance(get_provider("stripe_us"), StripeProvider)
    assert [p.name for p in eligible_providers("test", "card", "EUR")] == [*sandboxes, "stripe_eu"]
    assert [p.name for p in eligible_providers("live", "card", "EUR")] == ["stripe_us"]
    assert eligible_providers("live", "card", "XOF") == []


@pytest.mark.parametrize("setup", [{"accounts": [("stripe_eu", "test")]}], indirect=True)
def test_routing_skips_an_account_that_cannot_take_the_amount_and_says_why(client, factories):
    _, _, key = live_key(factories, "test")
    session = create_session(client, factories, key, currency="KWD", amount=1235)
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    assert "/sandbox/" in hosted
    (attempt,) = attempts_of(session)
    assert attempt.provider.startswith("sandbox_")
    (skipped,) = attempt.explanation["skipped"]
    assert skipped["provider"] == "stripe_eu"
    assert "KWD" in skipped["reason"] and "stripe_eu" not in attempt.explanation["order"]
    # A KWD amount Stripe can express keeps the account among the candidates.
    other = create_session(client, factories, key, currency="KWD", amount=1230)
    client.get(path_of(other["checkout_url"]))
    (attempt,) = attempts_of(other)
    assert "skipped" not in attempt.explanation
    assert "stripe_eu" in attempt.explanation["order"]


def test_credentials_never_reach_the_database_the_logs_or_the_portal(
    client, factories, stripe_api, caplog
):
    import logging

    from sqlalchemy import select

    from kadosei.providers.registry import get_provider
    from tests.routing_service.routing_service_support import signed_in_browser

    caplog.set_level(logging.DEBUG)
    wire(stripe_api, "stripe_eu", client)
    _, user, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    pay_on_the_fake(hosted, "4242424242424242")
    stripe_api.deliver_pending()
    declined = create_session(client, factories, key)
    stripe_api.fail_next(401)
    client.get(path_of(declined["checkout_url"]))  # an auth error at the provider

    secrets = (stripe_api.secret_key, stripe_api.webhook_secret)
    stored = []
    for table in db.metadata.sorted_tables:
        stored.extend(repr(row) for row in db.session.execute(select(table)).all())
    browser = signed_in_browser(client.application, user)
    pages = [
        browser.get(path).get_data(as_text=True)
        for path in ("/routing?mode=live", f"/payments/{session['id']}", "/payments")
    ]
    assert session["id"] in pages[1] and "stripe_eu" in pages[1]
    provider = get_provider("stripe_eu")
    for secret in secrets:
        assert all(secret not in text for text in stored)
        assert secret not in caplog.text
        assert all(secret not in page for page in pages)
        assert secret not in repr(provider) and secret not in repr(provider.account)
