"""The sandbox providers' in-process API as the payment services see it, and the operator's
knobs: down, slow, erroring, declining, disabled."""

from __future__ import annotations

import random
import time

import pytest
from sandbox_support import checkout_request, create_checkout, pay, payment

from kadosei.config import LOCAL_PUBLIC_URL
from kadosei.providers.base import (
    PaymentUnderWay,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
)
from kadosei.providers.registry import get_provider
from kadosei.providers.sandbox.harbor import HarborProvider
from kadosei.sandbox.knobs import update_knobs


def test_create_checkout_returns_a_reference_and_the_hosted_page_on_the_public_url(db):
    result = create_checkout(db, get_provider("sandbox_harbor"), amount=500, currency="USD")
    assert result.provider_reference.startswith("sbx_")
    assert result.hosted_url == (
        f"https://kadosei.test/sandbox/sandbox_harbor/pay/{result.provider_reference}"
    )
    row = payment(db, result)
    assert (row.amount, row.currency, row.payment_method, row.status) == (
        500,
        "USD",
        "card",
        "pending",
    )


@pytest.mark.parametrize("app_config", [{"KADOSEI_PUBLIC_URL": None}])
def test_without_a_public_url_the_hosted_page_is_on_loopback_never_the_request_host(app, db):
    # A forged Host or X-Forwarded-Host must not choose where a customer is sent.
    with app.test_request_context("/checkout/ps_x", base_url="https://attacker.example"):
        result = get_provider("sandbox_orbit").create_checkout(checkout_request())
    assert result.hosted_url.startswith(f"{LOCAL_PUBLIC_URL}/sandbox/sandbox_orbit/pay/sbx_")


@pytest.mark.parametrize(
    "request_kw",
    [
        {"method": "paypal"},  # Lumen has no PayPal
        {"method": "ideal", "currency": "USD"},
        {"mode": "live"},
        {"amount": 0},
    ],
)
def test_an_unsupported_request_is_a_bad_request(db, request_kw):
    with pytest.raises(ProviderBadRequest):
        get_provider("sandbox_lumen").create_checkout(checkout_request(**request_kw))


def test_get_status_reads_the_payment_and_refuses_unknown_references(client, db):
    provider = get_provider("sandbox_lumen")
    result = create_checkout(db, provider)
    assert provider.get_status(result.provider_reference).status == "pending"
    pay(client, result, "4000000000000002")
    status = provider.get_status(result.provider_reference)
    assert (status.status, status.failure_code) == ("failed", "card_declined")
    with pytest.raises(ProviderBadRequest):
        provider.get_status("sbx_unknown")
    with pytest.raises(ProviderBadRequest):
        get_provider("sandbox_orbit").get_status(result.provider_reference)


def test_expire_checkout_ends_an_unpaid_checkout(db):
    provider = get_provider("sandbox_orbit")
    result = create_checkout(db, provider)
    assert provider.expire_checkout(result.provider_reference).status == "expired"
    db.session.commit()
    assert payment(db, result).status == "expired"


@pytest.mark.parametrize("card_number", ["4242424242424242", "4000000000000259"])
def test_expire_checkout_refuses_when_the_customer_paid_or_is_paying(client, db, card_number):
    provider = get_provider("sandbox_orbit")
    result = create_checkout(db, provider)
    pay(client, result, card_number)
    with pytest.raises(PaymentUnderWay):
        provider.expire_checkout(result.provider_reference)


def test_a_down_provider_refuses_every_api_call(db):
    provider = get_provider("sandbox_lumen")
    result = create_checkout(db, provider)
    update_knobs("sandbox_lumen", {"down": True})
    with pytest.raises(ProviderError):
        provider.create_checkout(checkout_request())
    with pytest.raises(ProviderError):
        provider.get_status(result.provider_reference)
    with pytest.raises(ProviderError):
        provider.expire_checkout(result.provider_reference)
    update_knobs("sandbox_lumen", {"down": False})
    assert provider.get_status(result.provider_reference).status == "pending"


def test_an_error_rate_of_one_fails_every_checkout_and_zero_none(db):
    provider = get_provider("sandbox_harbor")
    update_knobs("sandbox_harbor", {"error_rate": 1.0})
    for _ in range(5):
        with pytest.raises(ProviderError):
            provider.create_checkout(checkout_request())
    update_knobs("sandbox_harbor", {"error_rate": 0.0})
    for _ in range(5):
        provider.create_checkout(checkout_request())


def test_an_error_rate_fails_that_fraction_of_checkouts(db):
    provider = HarborProvider(rng=random.Random(20240601))
    update_knobs("sandbox_harbor", {"error_rate": 0.3})
    failures = 0
    for _ in range(200):
        try:
            provider.create_checkout(checkout_request())
        except ProviderError:
            failures += 1
    assert 40 <= failures <= 80


def test_slow_beyond_the_timeout_raises_provider_timeout_after_the_timeout(app, db):
    app.config["SANDBOX_TIMEOUT_SECONDS"] = 0.2
    update_knobs("sandbox_orbit", {"slow_ms": 5000})
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        get_provider("sandbox_orbit").create_checkout(checkout_request())
    assert 0.2 <= time.monotonic() - started < 1.0


def test_slow_within_the_timeout_answers_late(app, db):
    app.config["SANDBOX_TIMEOUT_SECONDS"] = 1.0
    update_knobs("sandbox_orbit", {"slow_ms": 150})
    started = time.monotonic()
    result = get_provider("sandbox_orbit").create_checkout(checkout_request())
    assert time.monotonic() - started >= 0.15 and result.provider_reference


def test_the_default_timeout_is_three_seconds(db):
    update_knobs("sandbox_orbit", {"slow_ms": 3001})
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        get_provider("sandbox_orbit").get_status("sbx_any")
    assert 2.9 <= time.monotonic() - started < 3.5


def test_success_rate_zero_declines_every_otherwise_successful_card(client, db):
    update_knobs("sandbox_lumen", {"success_rate": 0.0})
    for number in ("4242424242424242", "5555555555554444"):
        result = create_checkout(db, get_provider("sandbox_lumen"))
        pay(client, result, number)
        row = payment(db, result)
        assert (row.status, row.failure_code) == ("failed", "card_declined")
    other = create_checkout(db, get_provider("sandbox_orbit"))
    pay(client, other, "4242424242424242")
    assert payment(db, other).status == "succeeded"


def test_a_disabled_provider_takes_no_new_checkout_but_answers_for_its_payments(db):
    provider = get_provider("sandbox_orbit")
    result = create_checkout(db, provider)
    update_knobs("sandbox_orbit", {"enabled": False})
    with pytest.raises(ProviderError):
        provider.create_checkout(checkout_request())
    assert provider.get_status(result.provider_reference).status == "pending"
