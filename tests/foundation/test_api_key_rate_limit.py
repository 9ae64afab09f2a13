"""KADOSEI_API_RATE_LIMIT: per API key, never below 100 requests per second."""

from __future__ import annotations

import pytest

from kadosei.config import ConfigError
from tests.conftest import make_test_app


@pytest.fixture
def app_config():
    return {"API_RATE_LIMIT": "100 per second"}


def test_past_the_limit_a_key_gets_429_with_retry_after_and_other_keys_do_not(client, factories):
    application = factories.make_application()
    _, busy = factories.make_api_key(application, "test")
    _, quiet = factories.make_api_key(application, "test")
    responses = []
    for _ in range(400):  # more than 100 in a second comes quickly; stop at the first 429
        responses.append(
            client.get("/api/v1/payment_sessions", headers=factories.key_headers(busy))
        )
        if responses[-1].status_code == 429:
            break
    assert [r.status_code for r in responses[:100]] == [200] * 100
    refused = responses[-1]
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other = client.get("/api/v1/payment_sessions", headers=factories.key_headers(quiet))
    assert other.status_code == 200


@pytest.mark.parametrize("limit", ["50 per second", "1000 per minute", "lots"])
def test_a_limit_below_100_per_second_or_unreadable_refuses_to_start(database_url, limit):
    with pytest.raises(ConfigError):
        make_test_app(database_url, API_RATE_LIMIT=limit)


def test_with_the_limits_storage_down_payment_calls_still_work(database_url, factories):
    dead = "redis://127.0.0.1:1/0"  # nothing listens there
    app = make_test_app(
        database_url, API_RATE_LIMIT="100 per second", RATELIMIT_STORAGE_URI=dead, REDIS_URL=dead
    )
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    with app.app_context():
        response = app.test_client().get(
            "/api/v1/payment_sessions",
            base_url="https://localhost",
            headers=factories.key_headers(secret),
        )
    assert response.status_code == 200
