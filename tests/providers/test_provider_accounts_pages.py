"""The portal's provider pages (docs/api.md §10): the operator's list of configured accounts
(notification URL, last notification, breaker, never a credential), and for merchants what each
mode can take, with a warning when a live key is made while live mode can take nothing."""

from __future__ import annotations

import re

import pytest

from kadosei.extensions import db
from kadosei.services.accounts import set_operator
from tests.fakes import fixtures as fake_psps
from tests.fakes.stripe_api import StripeApiFake
from tests.payments.payments_support import csrf_token
from tests.providers.live_accounts import adyen_account, mollie_account, stripe_account
from tests.providers.live_road import (
    app_config_for,
    create_session,
    live_key,
    pay_on_the_fake,
    to_hosted_page,
    wire,
)
from tests.routing_service.routing_service_support import signed_in_browser

stripe_api = fake_psps.stripe_api
mollie_api = fake_psps.mollie_api
adyen_checkout = fake_psps.adyen_checkout
start_fake = fake_psps.start_fake

NO_LIVE = {"no_live": True}


@pytest.fixture
def setup(request) -> dict:
    return getattr(request, "param", {})


@pytest.fixture
def stripe_us(start_fake) -> StripeApiFake:
    return start_fake(StripeApiFake)


@pytest.fixture
def app_config(
    redis_url, redis_client, setup, stripe_api, stripe_us, mollie_api, adyen_checkout, monkeypatch
) -> dict:
    if setup.get("no_live"):
        accounts = [mollie_account("mollie_nl", mollie_api, "test", monkeypatch)]
    else:
        accounts = [
            stripe_account("stripe_eu", stripe_api, "live", monkeypatch),
            stripe_account("stripe_us", stripe_us, "live", monkeypatch),
            mollie_account("mollie_nl", mollie_api, "test", monkeypatch),
            adyen_account("adyen_eu", adyen_checkout, "live", monkeypatch),
        ]
    rules = {
        "rules": [
            {"kind": "fixed_split", "weights": {"stripe_eu": 100}},
            {"kind": "disable_provider", "provider": "adyen_eu", "note": "Stripe first"},
        ]
    }
    return app_config_for(redis_url, accounts, None if setup.get("no_live") else rules)


def operator(app, factories):
    _, user = factories.make_merchant()
    set_operator(user, True)
    return user, signed_in_browser(app, user)


def section_of(html: str, name: str) -> str:
    """The account's card on the operator's page."""
    card = r'<section class="card provider-account">(?:(?!</section>).)*?'
    match = re.search(rf"{card}<code>{name}</code>.*?</section>", html, re.S)
    assert match, f"no card for {name}"
    return match.group(0)


def test_the_operator_sees_every_account_and_never_a_credential(
    app, factories, stripe_api, mollie_api, adyen_checkout
):
    _, browser = operator(app, factories)

    page = browser.get("/provider-accounts")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    stripe = section_of(html, "stripe_eu")
    assert "Stripe (stripe_eu)" in stripe and "live" in stripe
    assert "https://kadosei.test/providers/stripe_eu/notifications" in stripe
    assert "<code>card</code>" in stripe and "<code>ideal</code>" in stripe
    assert "1.5% + 0.25 EUR" in stripe and "EUR, GBP" in stripe
    assert f"…{stripe_api.secret_key[-4:]}" in stripe
    assert "none received yet" in stripe and "working" in stripe
    mollie = section_of(html, "mollie_nl")
    assert "Mollie" in mollie and "https://kadosei.test/providers/mollie_nl/notifications" in mollie
    adyen = section_of(html, "adyen_eu")
    assert "https://kadosei.test/providers/adyen_eu/notifications" in adyen
    assert adyen_checkout.merchant_account[-4:] in adyen
    assert "every currency it can express" in adyen
    for secret in (
        stripe_api.secret_key,
        stripe_api.webhook_secret,
        mollie_api.api_key,
        adyen_checkout.api_key,
        adyen_checkout.hmac_key,
    ):
        assert secret not in html and secret[:-4] not in html
    assert "sandbox_lumen" not in html  # configured accounts only


def test_the_page_shows_the_last_notification_and_a_paused_breaker(
    app, client, factories, stripe_api, stripe_us
):
    _, browser = operator(app, factories)
    wire(stripe_us, "stripe_us", client)
    _, _, key = live_key(factories)
    for _ in range(2):  # stripe_eu errors twice: its breaker opens; stripe_us takes them
        stripe_api.fail_next(503)
        hosted = to_hosted_page(client, create_session(client, factories, key))
        assert hosted.startswith(stripe_us.url)
    pay_on_the_fake(hosted, "4242424242424242")
    stripe_us.deliver_pending()

    html = browser.get("/provider-accounts").get_data(as_text=True)

    eu, us = section_of(html, "stripe_eu"), section_of(html, "stripe_us")
    assert "paused" in eu and "Paused after" in eu
    assert "none received yet" in eu
    assert "succeeded" in us and "applied" in us and "working" in us


def test_only_operators_see_the_provider_accounts(app, factories):
    _, user = factories.make_merchant()
    browser = signed_in_browser(app, user)

    assert browser.get("/provider-accounts").status_code == 403
    assert "/provider-accounts" not in browser.get("/").get_data(as_text=True)
    set_operator(user, True)
    assert 'href="/provider-accounts"' in browser.get("/").get_data(as_text=True)
    assert browser.get("/provider-accounts").status_code == 200


def test_merchants_see_what_each_mode_can_take(app, factories):
    _, user = factories.make_merchant()
    html = signed_in_browser(app, user).get("/payment-methods").get_data(as_text=True)

    test_mode = html.split('id="mode-test"')[1].split("</section>")[0]
    live_mode = html.split('id="mode-live"')[1].split("</section>")[0]
    assert re.search(r"<code>card</code></td>\s*<td>every currency", test_mode)
    assert "<code>ideal</code>" in live_mode and "<code>klarna</code>" in live_mode
    # Adyen takes cards in every currency but two it cannot express exactly.
    assert re.search(r"<code>card</code></td>\s*<td>every currency except CVE, IDR<", live_mode)
    ideal_live = re.search(r"<code>ideal</code></td>\s*<td>([^<]*)</td>", live_mode).group(1)
    assert ideal_live.strip() == "EUR"
    sepa_live = re.search(r"<code>sepa_debit</code></td>\s*<td>([^<]*)</td>", live_mode).group(1)
    assert sepa_live.strip() == "EUR"
    assert "cannot take any payment" not in html


@pytest.mark.parametrize("setup", [NO_LIVE], indirect=True)
def test_a_live_key_while_live_mode_takes_nothing_is_warned_about(app, client, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    headers = factories.jwt_headers(user)
    path = f"/api/v1/applications/{application.id}/api_keys"

    test_key = client.post(path, json={"mode": "test"}, headers=headers).get_json()
    live = client.post(path, json={"mode": "live"}, headers=headers)

    assert "warning" not in test_key
    assert live.status_code == 201
    assert "no live provider account" in live.get_json()["warning"]
    assert live.get_json()["key"].startswith("ks_live_")
    browser = signed_in_browser(app, user)
    assert "live-warning" in browser.get("/").get_data(as_text=True)
    shown = browser.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "live-warning" in shown and "/payment-methods" in shown
    html = browser.get("/payment-methods").get_data(as_text=True)
    assert "Live mode cannot take any payment yet" in html


@pytest.mark.parametrize("setup", [NO_LIVE], indirect=True)
def test_the_key_created_page_warns_about_a_live_key(app, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    browser = signed_in_browser(app, user)
    page = browser.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "live-warning" not in page  # no live key yet

    posted = browser.post(
        f"/applications/{application.id}/api_keys",
        data={"mode": "live", "name": "", "csrf_token": csrf_token(page)},
    )
    assert posted.status_code == 303  # post/redirect/get: the key is shown on the next page
    created = browser.get(posted.headers["Location"])

    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "ks_live_" in html
    assert "live-warning" in html and "no live provider account" in html


def test_no_warning_when_live_mode_can_take_payments(app, client, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    live = client.post(
        f"/api/v1/applications/{application.id}/api_keys",
        json={"mode": "live"},
        headers=factories.jwt_headers(user),
    )
    assert live.status_code == 201 and "warning" not in live.get_json()
    browser = signed_in_browser(app, user)
    assert "live-warning" not in browser.get(f"/applications/{application.id}").get_data(
        as_text=True
    )
    db.session.rollback()
