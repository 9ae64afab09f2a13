"""``flask --app app providers check`` against the protocol fakes: one authenticated call per
account (Stripe, Mollie, Adyen), OK or FAIL, never a credential in the output."""

from __future__ import annotations

import json

from kadosei.config import ConfigError
from tests.conftest import make_test_app
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake
from tests.providers.live_accounts import adyen_account, mollie_account, stripe_account

stripe_api = fake_psps.stripe_api
mollie_api = fake_psps.mollie_api
adyen_checkout = fake_psps.adyen_checkout
start_fake = fake_psps.start_fake


def check(database_url, *accounts: dict):
    document = json.dumps({"providers": list(accounts)})
    app = make_test_app(database_url, KADOSEI_PROVIDERS=document)
    return app.test_cli_runner().invoke(args=["providers", "check"])


def assert_report(result, *expected: str | tuple[str, str]) -> None:
    """One line per account, in order: ``"OK   <label>"``, or ``(FAIL line start, status)``;
    the command fails when one account does."""
    lines = result.output.splitlines()
    for line, want in zip(lines, expected, strict=False):
        if isinstance(want, tuple):
            assert line.startswith(want[0]) and want[1] in line, line
        else:
            assert line == want
    assert result.exit_code == (1 if any(isinstance(w, tuple) for w in expected) else 0)


def assert_no_secret_in(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output and secret[-4:] not in output


def test_each_stripe_account_is_checked_with_one_call(
    database_url, stripe_api, start_fake, monkeypatch
):
    other = start_fake(StripeApiFake)
    wrong_key = "sk_live_" + "wr0ng" * 6  # not the key this account's Stripe knows
    result = check(
        database_url,
        stripe_account("stripe_eu", stripe_api, "live", monkeypatch),
        stripe_account("stripe_us", other, "live", monkeypatch, secret_key=wrong_key),
    )

    assert_report(
        result, "OK   stripe_eu (stripe, live)", ("FAIL stripe_us (stripe, live):", "401")
    )
    assert "1 of 2 provider accounts failed" in result.output
    assert_no_secret_in(result.output, stripe_api.secret_key, stripe_api.webhook_secret, wrong_key)
    checked = stripe_api.requests_to("GET", "/v1/checkout/sessions")
    assert len(checked) == 1 and checked[0].query == {"limit": "1"}
    assert stripe_api.requests_to("POST", "/") == []  # harmless: nothing created


def test_a_mollie_account_is_checked_by_listing_one_payment(
    database_url, mollie_api, start_fake, monkeypatch
):
    other = start_fake(MollieApiFake)
    wrong_key = "test_" + "wr0ng" * 6
    result = check(
        database_url,
        mollie_account("mollie_nl", mollie_api, "test", monkeypatch),
        mollie_account("mollie_be", other, "test", monkeypatch, api_key=wrong_key),
    )

    assert_report(
        result, "OK   mollie_nl (mollie, test)", ("FAIL mollie_be (mollie, test):", "401")
    )
    assert_no_secret_in(result.output, mollie_api.api_key, wrong_key)
    (listed,) = mollie_api.requests_to("GET", "/v2/payments")
    assert listed.query == {"limit": "1"}
    assert listed.header("Authorization") == f"Bearer {mollie_api.api_key}"
    assert mollie_api.requests_to("POST", "/") == [] and mollie_api.payments == {}


def test_an_adyen_account_is_checked_with_its_merchant_accounts_payment_methods(
    database_url, adyen_checkout, start_fake, monkeypatch
):
    wrong_key, wrong_merchant = start_fake(AdyenCheckoutFake), start_fake(AdyenCheckoutFake)
    stranger = adyen_account("adyen_nl", wrong_merchant, "test", monkeypatch)
    stranger["credentials"]["merchant_account"] = "NotOurs"
    result = check(
        database_url,
        adyen_account("adyen_eu", adyen_checkout, "test", monkeypatch),
        adyen_account("adyen_us", wrong_key, "test", monkeypatch, api_key="AQE_" + "x" * 40),
        stranger,
    )

    assert_report(
        result,
        "OK   adyen_eu (adyen, test)",
        ("FAIL adyen_us (adyen, test):", "401"),
        ("FAIL adyen_nl (adyen, test):", "403"),
    )
    assert "2 of 3 provider accounts failed" in result.output
    assert_no_secret_in(result.output, adyen_checkout.api_key, adyen_checkout.hmac_key)
    (asked,) = adyen_checkout.requests_to("POST", "/v72/paymentMethods")
    assert asked.body == {"merchantAccount": adyen_checkout.merchant_account}
    assert asked.header("X-API-Key") == adyen_checkout.api_key
    assert adyen_checkout.sessions == {}


def test_every_kind_of_account_in_one_run(
    database_url, stripe_api, mollie_api, adyen_checkout, monkeypatch
):
    result = check(
        database_url,
        stripe_account("stripe_eu", stripe_api, "live", monkeypatch),
        mollie_account("mollie_nl", mollie_api, "test", monkeypatch),
        adyen_account("adyen_eu", adyen_checkout, "live", monkeypatch),
    )
    assert_report(
        result,
        "OK   stripe_eu (stripe, live)",
        "OK   mollie_nl (mollie, test)",
        "OK   adyen_eu (adyen, live)",
    )
    assert len(result.output.splitlines()) == 3
    assert "SKIP" not in result.output


def test_a_provider_that_is_down_fails_the_check(database_url, mollie_api, monkeypatch):
    mollie_api.fail_next(503)
    result = check(database_url, mollie_account("mollie_nl", mollie_api, "test", monkeypatch))
    assert result.exit_code == 1 and "FAIL mollie_nl (mollie, test):" in result.output
    assert "503" in result.output


def test_no_accounts_and_a_bad_configuration(database_url):
    app = make_test_app(database_url)
    result = app.test_cli_runner().invoke(args=["providers", "check"])
    assert result.exit_code == 0 and "no provider accounts configured" in result.output
    bad = json.dumps({"providers": [{"name": "x1", "type": "stripe", "mode": "live"}]})
    try:
        make_test_app(database_url, KADOSEI_PROVIDERS=bad)
    except ConfigError as exc:
        assert "credentials must be an object" in str(exc)
    else:
        raise AssertionError("a bad KADOSEI_PROVIDERS must stop the start")
