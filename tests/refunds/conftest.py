"""Fixtures for refunds: an app on the run's real queue with sandbox refunds settling at once,
a merchant's test key, the merchant's API client and a customer's browser."""

from __future__ import annotations

import pytest

from tests.conftest import HttpsClient
from tests.payments.payments_support import Customer, MerchantApi
from tests.webhooks import webhook_support

receiver = webhook_support.receiver


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {
        "REDIS_URL": redis_url,
        "SANDBOX_PROCESSING_SECONDS": 0,
        "SANDBOX_REFUND_SECONDS": 0,
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": True,
        "KADOSEI_WEBHOOK_TIMEOUT": 2.0,
    }


@pytest.fixture
def test_key(factories):
    """(application, secret) of a merchant's test-mode key."""
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    return application, secret


@pytest.fixture
def merchant(client, test_key) -> MerchantApi:
    return MerchantApi(client, test_key[1])


@pytest.fixture
def customer(app) -> Customer:
    app.test_client_class = HttpsClient
    return Customer(app.test_client())
