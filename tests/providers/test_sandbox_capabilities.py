"""The sandbox providers' capability tables and the registry the payment services use."""

from __future__ import annotations

from kadosei.currencies import all_currencies
from kadosei.providers.base import Fee
from kadosei.providers.registry import (
    all_providers,
    eligible_providers,
    get_provider,
    sandbox_providers,
)
from kadosei.sandbox.knobs import update_knobs
from kadosei.schemas.vocabulary import PAYMENT_METHODS

EXPECTED = {
    "sandbox_lumen": {
        "methods": {"card", "ideal", "bancontact", "sepa_debit", "klarna"},
        "card_fee": Fee(1.5, 25),
    },
    "sandbox_harbor": {
        "methods": {"card", "ideal", "bancontact", "sepa_debit", "paypal", "klarna"},
        "card_fee": Fee(1.2, 11),
    },
    "sandbox_orbit": {"methods": {"card", "paypal", "sepa_debit"}, "card_fee": Fee(0.95, 20)},
}


def test_three_sandbox_providers_are_registered_by_name(app):
    assert [p.name for p in all_providers()] == list(EXPECTED)
    for name in EXPECTED:
        provider = get_provider(name)
        assert provider is not None and provider.name == name and provider.display_name
    assert get_provider("nope") is None


def test_each_provider_has_its_capability_table_and_a_fee_per_method(app):
    for provider in sandbox_providers():
        capabilities = provider.capabilities()
        assert capabilities.modes == frozenset({"test"})
        assert capabilities.methods == EXPECTED[provider.name]["methods"]
        assert set(capabilities.fees) == capabilities.methods
        assert capabilities.fees["card"] == EXPECTED[provider.name]["card_fee"]
        for method in capabilities.methods:
            allowed = capabilities.method_currencies.get(method, capabilities.currencies)
            assert allowed is None or allowed <= all_currencies()


def test_card_fees_differ_between_providers(app):
    fees = {p.capabilities().fees["card"] for p in sandbox_providers()}
    assert len(fees) == 3


def test_every_method_is_covered_and_card_by_all_three(app):
    for method in PAYMENT_METHODS:
        assert any(method in p.capabilities().methods for p in sandbox_providers()), method
    assert all("card" in p.capabilities().methods for p in sandbox_providers())


def test_together_they_accept_every_iso_currency_for_card(app):
    for currency in all_currencies():
        assert eligible_providers("test", "card", currency), currency
    lumen = get_provider("sandbox_lumen")
    assert lumen.supports("test", "card", "XOF") and lumen.supports("test", "card", "KWD")
    assert not get_provider("sandbox_orbit").supports("test", "card", "XOF")


def test_eligibility_follows_method_currency_and_mode(app):
    names = lambda *a: [p.name for p in eligible_providers(*a)]  # noqa: E731
    assert names("test", "card", "EUR") == ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"]
    assert names("test", "ideal", "EUR") == ["sandbox_lumen", "sandbox_harbor"]
    assert names("test", "ideal", "USD") == []
    assert names("test", "paypal", "BRL") == ["sandbox_orbit"]
    assert names("test", "klarna", "RON") == ["sandbox_lumen"]
    assert names("live", "card", "EUR") == []


def test_a_disabled_provider_is_not_eligible(app):
    update_knobs("sandbox_harbor", {"enabled": False})
    names = [p.name for p in eligible_providers("test", "card", "EUR")]
    assert names == ["sandbox_lumen", "sandbox_orbit"]
    update_knobs("sandbox_harbor", {"enabled": True})
    assert len(eligible_providers("test", "card", "EUR")) == 3
