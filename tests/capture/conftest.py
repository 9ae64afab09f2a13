"""Fixtures for capture later (docs/api.md §4.2) on the sandbox providers: the payment road's
app (the run's real Redis, the delayed card completing at once), a merchant's test key, its
API client and a customer's browser."""

from __future__ import annotations

import pytest

from tests.capture.capture_support import Customer, MerchantApi
from tests.conftest import HttpsClient


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {"REDIS_URL": redis_url, "SANDBOX_PROCESSING_SECONDS": 0}


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
