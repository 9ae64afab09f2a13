"""Fixtures for routing in the service: an app whose router learns in the run's real Redis
on a clock the test controls, a merchant's test key, the merchant's API and a customer."""

from __future__ import annotations

import pytest
from routing_service_support import Clock, Customer, MerchantApi

from tests.conftest import HttpsClient


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(redis_url, redis_client, clock) -> dict:
    return {
        "REDIS_URL": redis_url,
        "SANDBOX_PROCESSING_SECONDS": 0,
        "KADOSEI_ROUTING_CLOCK": clock,
        "KADOSEI_ROUTING_SEED": 7,
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
