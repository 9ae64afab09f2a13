"""Fixtures for the retry road: an app on the run's real Redis (queue and router statistics)
with a seeded router on a fixed clock, a merchant's test key and API, and a customer."""

from __future__ import annotations

import pytest
from retry_support import Customer, MerchantApi

from tests.conftest import HttpsClient


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {
        "REDIS_URL": redis_url,
        "SANDBOX_PROCESSING_SECONDS": 0,
        "KADOSEI_ROUTING_CLOCK": lambda: 1_800_000_000.0,
        "KADOSEI_ROUTING_SEED": 7,
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": True,
        "KADOSEI_WEBHOOK_TIMEOUT": 2.0,
    }


@pytest.fixture
def account(factories):
    """(merchant, user, application, secret) of a merchant with a test-mode key."""
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _, secret = factories.make_api_key(application, "test")
    return merchant, user, application, secret


@pytest.fixture
def merchant(client, account) -> MerchantApi:
    return MerchantApi(client, account[3])


@pytest.fixture
def customer(app) -> Customer:
    app.test_client_class = HttpsClient
    return Customer(app.test_client())
