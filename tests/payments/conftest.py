"""Fixtures for the payment road (tests/payment_road_fixtures.py): an app whose queue is the
run's real Redis (or the embedded server), a merchant's test key, the merchant's API client and
a customer's browser."""

from __future__ import annotations

from tests import payment_road_fixtures as road

app_config = road.app_config
test_key = road.test_key
merchant = road.merchant
customer = road.customer
