"""Fixtures for capture later (docs/api.md §4.2) on the sandbox providers: the payment road's
(tests/payment_road_fixtures.py) app on the run's real Redis with the delayed card completing
at once, a merchant's test key, its API client and a customer's browser."""

from __future__ import annotations

from tests import payment_road_fixtures as road

app_config = road.app_config
test_key = road.test_key
merchant = road.merchant
customer = road.customer
