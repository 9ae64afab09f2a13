"""Fixtures of the payment road, shared by the areas that walk it (payments, capture, refunds):
an app whose queue is the run's real Redis (or the embedded server) with the delayed card
completing at once, a merchant's test key, the merchant's API client and a customer's browser.

Expose the ones a test folder needs in its conftest.py::

    from tests import payment_road_fixtures as road

    merchant = road.merchant
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import HttpsClient
from tests.payments.payments_support import Customer, MerchantApi


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    """A queue, and the delayed card completing at once."""
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


@pytest.fixture
def crew(factories) -> SimpleNamespace:
    """A merchant's people and keys for the audit tests: the owner (``user``, ``email``,
    ``jwt``), the application and its test key, as ids (the rows detach once a request ends)."""
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    key, secret = factories.make_api_key(application, "test")
    return SimpleNamespace(
        user=user.id,
        email=user.email,
        merchant=merchant.id,
        application=application.id,
        key=key.id,
        secret=secret,
        jwt=factories.jwt_headers(user),
    )
