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
    assert_forgery_refused,
    assert_refused,
    attempts_of,
    back_at_kadosei,
    checkout_failing_over,
    create_session,
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
    road_fixtures,
    session_row,
    to_hosted_page,
    wire_first,
)
from tests.webhooks import webhook_support

stripe_api = fake_psps.stripe_api
start_fake = fake_psps.start_fake
receiver = webhook_support.receiver

setup, app_config = road_fixtures({"accounts": [("stripe_eu", "live")]}, stripe_account)


@pytest.fixture
def fakes(setup, stripe_api, start_fake) -> dict[str, StripeApiFake]:
    """One fake Stripe per account, by account name (the first is ``stripe_api``)."""
    names = [name for name, *_ in setup["accounts"]]
    return {
        name: stripe_api if i == 0 else start_fake(StripeApiFake) for i, name in enumerate(names)
    }


@pytest.fixture
def stripe(fakes, client) -> StripeApiFake:
    """The first account's Stripe (``stripe_api``), its notifications sent into kadosei when
    the test says."""
    return wire_first(fakes, client)


def test_a_live_session_is_paid_through_stripe(client, factories, stripe):
    session, hosted = live_checkout(client, factories)
    assert session["mode"] == "live"

    assert hosted.startswith(f"{stripe.url}/pay/cs_")
    (attempt,) = attempts_of(session)
    assert attempt.provider == "stripe_eu" and attempt.explanation["chosen"] == "stripe_eu"
    created = stripe.requests_to("POST", "/v1/checkout/sessions")[-1]
    assert created.headers["Authorization"] == f"Bearer {stripe.secret_key}"
    with client.application.test_request_context():
        assert notification_url("stripe_eu") == (
            "https://kadosei.test/providers/stripe_eu/notifications"
        )

    paid_and_back(client, hosted)

    delivered = stripe.deliver_pending()
    assert [n.attempts[-1].status for n in delivered] == [200] * len(delivered)
    assert session_row(session).status == "succeeded"
    noted = ProviderNotification.query.filter_by(provider="stripe_eu").all()
    assert "succeeded" in {n.reported_status for n in noted}
    assert Event.query.filter_by(type="payment_session.succeeded", mode="live").count() == 1
    # The same notification again changes nothing.
    stripe.redeliver(delivered[0])
    assert session_row(session).status == "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 1


@pytest.mark.parametrize("setup", [one_test_mode_account("stripe_eu")], indirect=True)
def test_a_test_mode_account_takes_a_test_key_and_the_merchant_gets_a_verified_webhook(
    client, factories, stripe, receiver
):
    """A ``mode: test`` account serves ks_test_ keys beside the sandboxes (disabled here by
    configured rules, so routing has only the Stripe account); the merchant's test endpoint
    on 127.0.0.1 receives the verified webhook (live endpoints must be public https)."""
    paid_in_test_mode(client, factories, stripe, receiver, "stripe_eu")


def test_the_customer_cancels_on_stripes_page(client, factories, stripe):
    session, hosted = live_checkout(client, factories)
    page = requests.get(hosted, timeout=5).text
    cancel_link = re.search(r"class='cancel' href='([^']+)'", page).group(1)

    assert back_at_kadosei(client, html.unescape(cancel_link)).startswith(
        "https://shop.example/cart"
    )
    assert session_row(session).status == "canceled"
    assert stripe.sessions[provider_reference(hosted)]["status"] == "expired"
    stripe.deliver_pending()  # Stripe's checkout.session.expired changes nothing more
    assert session_row(session).status == "canceled"


def test_an_expired_session_expires_the_checkout_session_at_stripe(client, factories, stripe):
    session, hosted = live_checkout(client, factories)
    past_expiry(session)

    assert expire_due_sessions() == 1

    sid = provider_reference(hosted)
    assert len(stripe.requests_to("POST", f"/v1/checkout/sessions/{sid}/expire")) == 1
    assert stripe.sessions[sid]["status"] == "expired"
    assert session_row(session).status == "expired"
    assert Event.query.filter_by(type="payment_session.expired", mode="live").count() == 1


def test_a_decline_fails_the_attempt_with_stripes_code(client, factories, stripe):
    _, _, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    declined = pay_on_the_fake(hosted, "4000000000009995")
    assert declined.status_code == 200 and "insufficient funds" in declined.text
    stripe.deliver_pending()
    (attempt,) = attempts_of(session)
    assert attempt.status == "failed"
    shown = client.get(
        f"/api/v1/payment_sessions/{session['id']}", headers=factories.key_headers(key)
    ).get_json()
    assert shown["status"] != "succeeded"
    assert "insufficient_funds" in json.dumps(shown)


@pytest.mark.parametrize("setup", [failover_setup("stripe_eu", "stripe_us")], indirect=True)
def test_a_5xx_at_creation_fails_over_to_the_other_stripe_account(client, factories, fakes):
    paid_after_failover(client, factories, fakes, "stripe_eu", "stripe_us")
    assert len(fakes["stripe_eu"].requests_to("POST", "/v1/checkout/sessions")) == 1


@pytest.mark.parametrize("setup", [failover_setup("stripe_eu", "stripe_us", 0.5)], indirect=True)
def test_a_timeout_at_creation_fails_over_to_the_other_stripe_account(client, factories, fakes):
    fakes["stripe_eu"].hang_next(2)
    checkout_failing_over(client, factories, fakes, "stripe_eu", "provider_timeout", "stripe_us")


def test_a_notification_that_needs_stripe_while_it_is_down_is_a_503_and_is_applied_later(
    client, factories, stripe
):
    session, hosted = live_checkout(client, factories)
    stripe.hold_notifications = True
    pay_on_the_fake(hosted, "4000000000009995")  # payment_intent.payment_failed: ask Stripe
    stripe.fail_next(503)  # the one call kadosei makes to find the payment's session

    held = stripe.deliver_pending()
    answers = [n.attempts[-1] for n in held]
    assert 503 in [answer.status for answer in answers]
    refused = next(answer for answer in answers if answer.status == 503)
    assert json.loads(refused.body)["error"]["code"] == "provider_unavailable"
    assert attempts_of(session)[0].status == "pending"

    for notification in held:  # Stripe is back; it sends the same notification again
        stripe.redeliver(notification)
    (attempt,) = attempts_of(session)
    assert (attempt.status, attempt.error_code) == ("failed", "insufficient_funds")


def test_a_forged_notification_is_refused_and_changes_nothing(client, factories, stripe):
    session, hosted = live_checkout(client, factories)
    sid = provider_reference(hosted)
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
    assert_forgery_refused(stripe.send_event(event, secret="whsec_not_the_accounts"), session)
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
    hosted = to_hosted_page(client, session)
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
    client, factories, stripe, caplog
):
    import logging

    from sqlalchemy import select

    from kadosei.providers.registry import get_provider
    from tests.routing_service.routing_service_support import signed_in_browser

    caplog.set_level(logging.DEBUG)
    _, user, key = live_key(factories)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    pay_on_the_fake(hosted, "4242424242424242")
    stripe.deliver_pending()
    declined = create_session(client, factories, key)
    stripe.fail_next(401)
    client.get(path_of(declined["checkout_url"]))  # an auth error at the provider

    secrets = (stripe.secret_key, stripe.webhook_secret)
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
