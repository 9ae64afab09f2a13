"""Fixtures for routing in the service: an app whose router learns in the run's real Redis
on a clock the test controls, a merchant's test key, the merchant's API and a customer."""

from __future__ import annotations

import pytest
from routing_service_support import Clock, Customer, MerchantApi

from kadosei.extensions import db as _db
from tests.conftest import HttpsClient, _truncate_all, make_test_app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database_url, _schema, redis_url, redis_client, clock):
    app = make_test_app(
        database_url,
        redis_url,
        SANDBOX_PROCESSING_SECONDS=0,
        KADOSEI_ROUTING_CLOCK=clock,
        KADOSEI_ROUTING_SEED=7,
    )
    with app.app_context():
        yield app
        _db.session.remove()
        _truncate_all()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    app.test_client_class = HttpsClient
    return app.test_client()


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
