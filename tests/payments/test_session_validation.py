"""Every field rule of ``POST /api/v1/payment_sessions`` (docs/api.md §4): a clear 400 in the
contract's envelope, naming the parameter, and nothing written."""

from __future__ import annotations

import pytest
from payments_support import session_body

from kadosei.models import PaymentSession


def _refused(merchant, body, param, code="parameter_invalid"):
    response = merchant.create(body)
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error.get("param")) == (code, param), error
    assert error["message"]
    assert PaymentSession.query.count() == 0


def test_a_valid_body_creates_an_open_session_with_exactly_the_contract_shape(merchant):
    response = merchant.create(session_body(reference="order-42", metadata={"cart": "c_1"}))

    assert response.status_code == 201
    body = response.json
    assert list(body) == [
        "id", "object", "status", "mode", "amount", "currency", "payment_method",
        "checkout_url", "success_url", "cancel_url", "reference", "description",
        "customer_email", "metadata", "created_at", "expires_at", "completed_at",
        "failure", "conflict", "capture_method", "amount_captured", "capture_before",
        "amount_refunded", "attempts_failed", "last_failure",
    ]  # fmt: skip
    assert body["id"].startswith("ps_") and len(body["id"]) >= 27
    assert body["object"] == "payment_session" and body["status"] == "open"
    assert body["mode"] == "test" and body["amount"] == 1999 and body["currency"] == "EUR"
    assert body["checkout_url"] == f"https://kadosei.test/checkout/{body['id']}"
    assert body["reference"] == "order-42" and body["metadata"] == {"cart": "c_1"}
    assert body["created_at"].endswith("Z") and body["expires_at"].endswith("Z")
    assert body["completed_at"] is None and body["failure"] is None
    assert body["conflict"] is False
    assert body["capture_method"] == "automatic" and body["amount_captured"] == 0
    assert body["capture_before"] is None
    assert body["amount_refunded"] == 0 and body["attempts_failed"] == 0


def test_expires_in_defaults_to_an_hour_and_can_be_chosen(merchant):
    default = merchant.create_session()
    chosen = merchant.create_session(expires_in=300)

    for body, seconds in ((default, 3600), (chosen, 300)):
        session = PaymentSession.query.filter_by(id=body["id"]).one()
        assert (session.expires_at - session.created_at).total_seconds() == seconds


@pytest.mark.parametrize("missing", ["amount", "currency", "payment_method", "success_url"])
def test_required_fields_are_required(merchant, missing):
    _refused(merchant, session_body(**{missing: ...}), missing, "parameter_missing")


def test_unknown_fields_are_refused(merchant):
    _refused(merchant, session_body(provider="x"), "provider", "parameter_unknown")


@pytest.mark.parametrize("amount", [0, -1, 100_000_000, 19.99, 1999.0, "1999", True, [1]])
def test_amount_is_an_integer_from_1_to_99999999(merchant, amount):
    _refused(merchant, session_body(amount=amount), "amount")


def test_the_largest_amount_is_accepted(merchant):
    assert merchant.create(session_body(amount=99_999_999)).status_code == 201


@pytest.mark.parametrize("currency", ["eur", "EURO", "XXX", "ABC", "", 978, " EUR"])
def test_currency_is_an_upper_case_iso_4217_code(merchant, currency):
    _refused(merchant, session_body(currency=currency), "currency")


def test_zero_and_three_decimal_currencies_are_accepted(merchant):
    assert merchant.create(session_body(currency="JPY", amount=500)).status_code == 201
    assert merchant.create(session_body(currency="KWD", amount=1500)).status_code == 201


@pytest.mark.parametrize("method", ["Card", "cash", "", None])
def test_payment_method_is_one_of_the_contract_methods(merchant, method):
    code = "parameter_missing" if method is None else "parameter_invalid"
    _refused(merchant, session_body(payment_method=method), "payment_method", code)


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/ok",
        "javascript:alert(1)",
        "data:text/html,hi",
        "/relative/path",
        "//shop.example/ok",
        "shop.example/ok",
        "https://",
        "https:///ok",
        "https://user:pass@shop.example/ok",
        "https://shop.example@evil.example/ok",
        "https://shop.example\\@evil.example/",
        "https://shop example/ok",
        "https://shop.example/o k",
        "https://shop.example:99999/ok",
        "https://-bad-.example/",
        "ftp://shop.example/ok",
        "https://shop.example/" + "a" * 2040,
        123,
        "",
    ],
)
def test_redirect_urls_are_absolute_https(merchant, url):
    _refused(merchant, session_body(success_url=url), "success_url")
    _refused(merchant, session_body(cancel_url=url), "cancel_url")


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/ok", "http://127.0.0.1/ok", "http://[::1]:3000/ok"]
)
def test_http_is_allowed_for_loopback_hosts_in_test_mode(merchant, url):
    assert merchant.create(session_body(success_url=url, cancel_url=url)).status_code == 201


def test_http_loopback_is_refused_in_live_mode(client, factories):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "live")
    body = session_body(success_url="http://localhost/ok")
    response = client.post(
        "/api/v1/payment_sessions", json=body, headers=factories.key_headers(secret)
    )

    assert response.status_code == 400
    assert response.json["error"]["param"] == "success_url"


def test_reference_is_at_most_255_characters(merchant):
    _refused(merchant, session_body(reference="r" * 256), "reference")
    _refused(merchant, session_body(reference=42), "reference")
    assert merchant.create(session_body(reference="r" * 255)).status_code == 201


def test_description_is_at_most_1000_characters(merchant):
    _refused(merchant, session_body(description="d" * 1001), "description")
    assert merchant.create(session_body(description="d" * 1000)).status_code == 201


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.example", 5])
def test_customer_email_must_be_valid(merchant, email):
    _refused(merchant, session_body(customer_email=email), "customer_email")


def test_metadata_is_an_object_of_short_strings(merchant):
    _refused(merchant, session_body(metadata=["a"]), "metadata")
    _refused(merchant, session_body(metadata="cart"), "metadata")
    too_many = {f"k{i}": "v" for i in range(51)}
    _refused(merchant, session_body(metadata=too_many), "metadata")
    long_key = "k" * 41
    _refused(merchant, session_body(metadata={long_key: "v"}), f"metadata.{long_key}")
    _refused(merchant, session_body(metadata={"cart": "v" * 501}), "metadata.cart")
    _refused(merchant, session_body(metadata={"cart": 5}), "metadata.cart")
    _refused(merchant, session_body(metadata={"cart": {"id": "x"}}), "metadata.cart")
    fifty = {f"{i:040d}": "v" * 500 for i in range(50)}
    assert merchant.create(session_body(metadata=fifty)).status_code == 201


@pytest.mark.parametrize("expires_in", [299, 86401, 0, "3600", 3600.5, True])
def test_expires_in_is_300_to_86400_seconds(merchant, expires_in):
    _refused(merchant, session_body(expires_in=expires_in), "expires_in")


def test_a_body_that_is_not_json_is_refused(merchant, client):
    headers = {**merchant.headers, "Content-Type": "application/json"}
    broken = client.post("/api/v1/payment_sessions", data="{", headers=headers)
    form = client.post("/api/v1/payment_sessions", data={"amount": "1"}, headers=merchant.headers)
    array = client.post("/api/v1/payment_sessions", json=[1], headers=merchant.headers)

    assert broken.status_code == 400 and broken.json["error"]["code"] == "json_invalid"
    assert form.status_code == 415
    assert array.status_code == 400 and array.json["error"]["code"] == "json_invalid"


def test_validation_comes_before_provider_availability(client, factories):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "live")
    headers = factories.key_headers(secret)

    invalid = client.post("/api/v1/payment_sessions", json=session_body(amount=0), headers=headers)
    valid = client.post("/api/v1/payment_sessions", json=session_body(), headers=headers)

    assert invalid.status_code == 400
    assert valid.status_code == 422
    assert valid.json["error"]["code"] == "no_provider_available"
    assert PaymentSession.query.count() == 0


def test_a_method_no_provider_supports_in_that_currency_is_422(merchant):
    response = merchant.create(session_body(payment_method="ideal", currency="USD"))

    assert response.status_code == 422
    assert response.json["error"] == {
        "type": "invalid_request_error",
        "code": "no_provider_available",
        "message": response.json["error"]["message"],
    }


def test_plain_http_to_the_api_is_403_https_required(app, merchant):
    response = app.test_client().post(
        "/api/v1/payment_sessions",
        json=session_body(),
        headers=merchant.headers,
        base_url="http://localhost",
    )

    assert response.status_code == 403
    assert response.json["error"]["code"] == "https_required"
    assert PaymentSession.query.count() == 0


def test_management_tokens_cannot_create_sessions(client, factories):
    _, user = factories.make_merchant()
    response = client.post(
        "/api/v1/payment_sessions", json=session_body(), headers=factories.jwt_headers(user)
    )

    assert response.status_code == 401
