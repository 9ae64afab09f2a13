"""``flask --app app providers check`` against the protocol fakes: one authenticated call per
account, OK or FAIL, never a credential in the output."""

from __future__ import annotations

import json

from kadosei.config import ConfigError
from tests.conftest import make_test_app
from tests.fakes import fixtures as fake_psps
from tests.fakes.stripe_api import StripeApiFake

stripe_api = fake_psps.stripe_api
start_fake = fake_psps.start_fake


def account(name: str, fake: StripeApiFake) -> dict:
    return {
        "name": name,
        "type": "stripe",
        "mode": "live",
        "credentials": {
            "secret_key": f"env:{name.upper()}_KEY",
            "webhook_secret": f"env:{name.upper()}_WHSEC",
        },
        "api_base": fake.url,
        "timeout_seconds": 2,
    }


def test_each_account_is_checked_with_one_call(database_url, stripe_api, start_fake, monkeypatch):
    other = start_fake(StripeApiFake)
    monkeypatch.setenv("STRIPE_EU_KEY", stripe_api.secret_key)
    monkeypatch.setenv("STRIPE_EU_WHSEC", stripe_api.webhook_secret)
    wrong_key = "sk_live_" + "wr0ng" * 6
    monkeypatch.setenv("STRIPE_US_KEY", wrong_key)  # not the key this account's Stripe knows
    monkeypatch.setenv("STRIPE_US_WHSEC", other.webhook_secret)
    document = {"providers": [account("stripe_eu", stripe_api), account("stripe_us", other)]}
    app = make_test_app(database_url, KADOSEI_PROVIDERS=json.dumps(document))

    result = app.test_cli_runner().invoke(args=["providers", "check"])

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "OK   stripe_eu (stripe, live)"
    assert lines[1].startswith("FAIL stripe_us (stripe, live):") and "401" in lines[1]
    assert "1 of 2 provider accounts failed" in result.output
    for secret in (stripe_api.secret_key, stripe_api.webhook_secret, wrong_key):
        assert secret not in result.output and secret[-4:] not in result.output
    checked = stripe_api.requests_to("GET", "/v1/checkout/sessions")
    assert len(checked) == 1 and checked[0].query == {"limit": "1"}
    assert stripe_api.requests_to("POST", "/") == []  # harmless: nothing created


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
