"""Fixtures for refunds: an app on the run's real queue with sandbox refunds settling at once;
the payment road's (tests/payment_road_fixtures.py) merchant's test key, the merchant's API
client and a customer's browser."""

from __future__ import annotations

import pytest

from tests import payment_road_fixtures as road
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


test_key = road.test_key
merchant = road.merchant
customer = road.customer
