"""KADOSEI_PROVIDERS (docs/api.md §10): parsed and checked at start, credentials resolved from
env:/file: and never shown."""

from __future__ import annotations

import json
import logging

import pytest

from kadosei.config import ConfigError
from kadosei.providers.accounts import load_accounts
from kadosei.providers.base import Fee
from tests.conftest import make_test_app

SECRET = "sk_live_" + "s3cr3t" * 6
WHSEC = "whsec_" + "w3bh00k" * 5


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("LC_STRIPE_KEY", SECRET)
    monkeypatch.setenv("LC_STRIPE_WHSEC", WHSEC)


def stripe_entry(**fields):
    entry = {
        "name": "stripe_eu",
        "type": "stripe",
        "mode": "live",
        "credentials": {"secret_key": "env:LC_STRIPE_KEY", "webhook_secret": "env:LC_STRIPE_WHSEC"},
    }
    entry.update(fields)
    return entry


def load(*entries):
    return load_accounts(json.dumps({"providers": list(entries)}), frozenset({"sandbox_lumen"}))


def test_unset_means_no_accounts():
    assert load_accounts(None) == []
    assert load_accounts("  ") == []


def test_an_account_with_its_credentials_resolved(secrets_env, tmp_path):
    (tmp_path / "mollie").write_text("live_mollie_key_123\n")
    accounts = load(
        stripe_entry(
            methods=["card", "ideal"],
            currencies=["EUR", "USD"],
            fees={"card": {"percent": 1.5, "fixed": 25}, "*": {"percent": 1.8, "fixed": 0}},
            api_base="http://127.0.0.1:9/",
            timeout_seconds=4,
        ),
        {
            "name": "mollie_nl",
            "type": "mollie",
            "mode": "test",
            "credentials": {"api_key": f"file:{tmp_path / 'mollie'}"},
        },
    )
    stripe, mollie = accounts
    assert stripe.credentials == {"secret_key": SECRET, "webhook_secret": WHSEC}
    assert stripe.methods == {"card", "ideal"} and stripe.currencies == {"EUR", "USD"}
    assert stripe.fees == {"card": Fee(1.5, 25), "*": Fee(1.8, 0)}
    assert stripe.api_base == "http://127.0.0.1:9" and stripe.timeout_seconds == 4.0
    assert mollie.credentials == {"api_key": "live_mollie_key_123"} and mollie.mode == "test"
    assert mollie.methods is None and mollie.fees is None and mollie.timeout_seconds == 10.0
    assert SECRET not in repr(stripe) and WHSEC not in repr(stripe)


def test_a_file_holding_the_document(secrets_env, tmp_path):
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"providers": [stripe_entry()]}))
    assert [a.name for a in load_accounts(str(path))] == ["stripe_eu"]


def test_adyen_needs_its_live_url_prefix_in_live_only(monkeypatch):
    monkeypatch.setenv("LC_ADYEN_KEY", "AQE-key")
    monkeypatch.setenv("LC_ADYEN_HMAC", "44782DEF547AAA06C910C43932B1EB0C")
    creds = {"api_key": "env:LC_ADYEN_KEY", "merchant_account": "AcmeECOM"}
    creds["hmac_key"] = "env:LC_ADYEN_HMAC"
    test = {"name": "adyen_t", "type": "adyen", "mode": "test", "credentials": creds}
    assert load(test)[0].credentials["merchant_account"] == "AcmeECOM"
    with pytest.raises(ConfigError, match="'live_url_prefix' is missing"):
        load({**test, "mode": "live"})
    live = {**test, "mode": "live", "credentials": {**creds, "live_url_prefix": "1797a841f-Acme"}}
    assert load(live)[0].credentials["live_url_prefix"] == "1797a841f-Acme"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "paypal"}, "unknown type 'paypal'"),
        ({"mode": "production"}, "mode must be live or test"),
        ({"name": "Stripe EU"}, "name must be"),
        ({"name": "sandbox_lumen"}, "reserved for the sandbox"),
        ({"name": "sandbox_other"}, "reserved for the sandbox"),
        ({"credentials": {"secret_key": "env:LC_STRIPE_KEY"}}, "'webhook_secret' is missing"),
        ({"credentials": "env:LC_STRIPE_KEY"}, "credentials must be an object"),
        ({"methods": ["card", "cash"]}, "unknown method 'cash'"),
        ({"currencies": ["EUR", "EURO"]}, "'EURO' is not an ISO 4217"),
        ({"fees": {"card": {"percent": -1, "fixed": 25}}}, "fee percent for 'card'"),
        ({"fees": {"card": {"percent": 1, "fixed": 2.5}}}, "fee fixed for 'card'"),
        ({"fees": {"card": {"percent": 1}}}, "must be {percent, fixed}"),
        ({"fees": {"cash": {"percent": 1, "fixed": 1}}}, "unknown method 'cash'"),
        ({"api_base": "ftp://x"}, "api_base must be"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"colour": "blue"}, "unknown field 'colour'"),
    ],
)
def test_bad_accounts_are_refused_with_a_clear_message(secrets_env, change, message):
    with pytest.raises(ConfigError, match=message):
        load(stripe_entry(**change))


def test_duplicate_names_are_refused(secrets_env):
    with pytest.raises(ConfigError, match="'stripe_eu' is used twice"):
        load(stripe_entry(), stripe_entry())


@pytest.mark.parametrize("document", ["{not json", '{"accounts": []}', '{"providers": {}}'])
def test_a_bad_document_is_refused(document):
    with pytest.raises(ConfigError, match="KADOSEI_PROVIDERS"):
        load_accounts(document)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_accounts(str(tmp_path / "nope.json"))


def test_a_literal_secret_is_refused_without_repeating_it(secrets_env):
    entry = stripe_entry(
        credentials={"secret_key": SECRET, "webhook_secret": "env:LC_STRIPE_WHSEC"}
    )
    with pytest.raises(ConfigError, match="env:NAME or file:PATH") as caught:
        load(entry)
    assert SECRET not in str(caught.value)


def test_an_unset_or_empty_variable_or_file_is_refused(secrets_env, monkeypatch, tmp_path):
    monkeypatch.setenv("LC_EMPTY", "  ")
    for reference, message in [
        ("env:LC_NOT_SET_ANYWHERE", "LC_NOT_SET_ANYWHERE is unset or empty"),
        ("env:LC_EMPTY", "LC_EMPTY is unset or empty"),
        (f"file:{tmp_path / 'missing'}", "cannot read"),
    ]:
        creds = {"secret_key": reference, "webhook_secret": "env:LC_STRIPE_WHSEC"}
        with pytest.raises(ConfigError, match=message):
            load(stripe_entry(credentials=creds))
    (tmp_path / "empty").write_text("\n")
    creds = {"secret_key": f"file:{tmp_path / 'empty'}", "webhook_secret": "env:LC_STRIPE_WHSEC"}
    with pytest.raises(ConfigError, match="is empty"):
        load(stripe_entry(credentials=creds))


def test_create_app_refuses_a_bad_configuration(database_url, secrets_env, caplog):
    caplog.set_level(logging.DEBUG)
    bad = json.dumps({"providers": [stripe_entry(type="paypal")]})
    with pytest.raises(ConfigError, match="unknown type 'paypal'"):
        make_test_app(database_url, KADOSEI_PROVIDERS=bad)
    assert SECRET not in caplog.text and WHSEC not in caplog.text
