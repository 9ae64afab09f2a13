"""Provider accounts for KADOSEI_PROVIDERS that point at the protocol fakes, credentials from
the environment (as an operator writes them: ``env:NAME``, never a literal)."""

from __future__ import annotations

from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake


def _from_env(monkeypatch, name: str, values: dict[str, str]) -> dict[str, str]:
    """Each credential put in the environment as ``<NAME>_<FIELD>`` and named ``env:…``."""
    named = {}
    for field, value in values.items():
        variable = f"{name.upper()}_{field.upper()}"
        monkeypatch.setenv(variable, value)
        named[field] = f"env:{variable}"
    return named


def _account(name: str, kind: str, mode: str, credentials: dict, api_base: str) -> dict:
    return {
        "name": name,
        "type": kind,
        "mode": mode,
        "credentials": credentials,
        "api_base": api_base,
        "timeout_seconds": 2,
    }


def stripe_account(name: str, fake: StripeApiFake, mode: str, monkeypatch, **secrets) -> dict:
    values = {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret, **secrets}
    return _account(name, "stripe", mode, _from_env(monkeypatch, name, values), fake.url)


def mollie_account(name: str, fake: MollieApiFake, mode: str, monkeypatch, **secrets) -> dict:
    values = {"api_key": fake.api_key, **secrets}
    return _account(name, "mollie", mode, _from_env(monkeypatch, name, values), fake.url)


def adyen_account(name: str, fake: AdyenCheckoutFake, mode: str, monkeypatch, **secrets) -> dict:
    values = {"api_key": fake.api_key, "hmac_key": fake.hmac_key, **secrets}
    credentials = _from_env(monkeypatch, name, values)
    credentials["merchant_account"] = fake.merchant_account  # an identifier, not a secret
    if mode == "live":
        credentials["live_url_prefix"] = "1797a841fbb37ca7-KadoseiTest"
    return _account(name, "adyen", mode, credentials, fake.api_base)
