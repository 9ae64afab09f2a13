"""A lone surrogate (``"\\ud800"``) is valid JSON but not storable text: every JSON endpoint
answers a 400 in the envelope naming the field, and nothing is written (docs/api.md §2)."""

from __future__ import annotations

import pytest

from kadosei.models import Application, PaymentSession

LONE_SURROGATE_BODY = '{"name": "Shop", "description": "\\ud800"}'


def _post_raw(client, path: str, raw: str, headers: dict):
    return client.post(path, data=raw, content_type="application/json", headers=headers)


def _assert_refused(response, param: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "parameter_invalid"
    assert error["param"] == param


@pytest.mark.parametrize("field", ["reference", "description", "metadata"])
def test_a_session_with_a_lone_surrogate_is_a_400_and_creates_nothing(client, factories, field):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    value = '{"k": "\\udfff"}' if field == "metadata" else '"\\ud800"'
    raw = (
        '{"amount": 1999, "currency": "EUR", "payment_method": "card",'
        ' "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no",'
        f' "{field}": {value}}}'
    )

    response = _post_raw(client, "/api/v1/payment_sessions", raw, factories.key_headers(secret))

    _assert_refused(response, field)
    assert PaymentSession.query.count() == 0


def test_an_application_with_a_lone_surrogate_is_a_400_and_creates_nothing(client, factories):
    merchant, user = factories.make_merchant()

    response = _post_raw(
        client, "/api/v1/applications", LONE_SURROGATE_BODY, factories.jwt_headers(user)
    )

    _assert_refused(response, "description")
    assert Application.query.filter_by(merchant_id=merchant.id).count() == 0


def test_a_login_with_a_lone_surrogate_is_a_400(client, factories):
    factories.make_merchant()

    response = _post_raw(
        client, "/api/v1/auth/login", '{"email": "\\ud800@example.com", "password": "x"}', {}
    )

    _assert_refused(response, "email")


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    """Login limits counted in the real Redis, as in production."""
    return {"RATELIMIT_STORAGE_URI": redis_url}
