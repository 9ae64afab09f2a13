"""What schema fuzzing found: places where the document and the API disagreed. Each test
holds both sides — what the document says about an input, and what the API does with it."""

from __future__ import annotations

import jsonschema_rs
import pytest

from kadosei.api.openapi import openapi_document

SESSION = {
    "amount": 1999,
    "currency": "EUR",
    "payment_method": "card",
    "success_url": "https://shop.example/ok",
    "cancel_url": "https://shop.example/no",
}


def _documented(schema_name: str, body: dict) -> bool:
    components = openapi_document()["components"]
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    return jsonschema_rs.Draft202012Validator(schema).is_valid(body)


def _query_documented(path: str, name: str, value: str) -> bool:
    operation = openapi_document()["paths"][path]["get"]
    parameter = next(p for p in operation["parameters"] if p["name"] == name)
    return jsonschema_rs.Draft202012Validator(parameter["schema"]).is_valid(value)


@pytest.fixture
def key_headers(factories) -> dict:
    _, secret = factories.make_api_key(factories.make_application(), "test")
    return factories.key_headers(secret)


@pytest.mark.parametrize("field", ["expires_in", "metadata", "reference", "customer_email"])
def test_null_for_an_optional_field_is_documented_and_means_absent(client, key_headers, field):
    body = {**SESSION, field: None}

    response = client.post("/api/v1/payment_sessions", json=body, headers=key_headers)

    assert _documented("PaymentSessionCreate", body)
    assert response.status_code == 201, response.get_json()


def test_a_blank_customer_email_is_documented_and_means_none(client, key_headers):
    body = {**SESSION, "customer_email": "  "}

    response = client.post("/api/v1/payment_sessions", json=body, headers=key_headers)

    assert _documented("PaymentSessionCreate", body)
    assert response.status_code == 201 and response.get_json()["customer_email"] is None


def test_blank_credentials_are_documented_as_refused(client):
    body = {"email": "", "password": "x"}

    response = client.post("/api/v1/auth/login", json=body)

    assert not _documented("LoginRequest", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "parameter_missing"


def test_a_blank_name_is_documented_as_refused(client, factories):
    _, user = factories.make_merchant()
    body = {"name": "   "}

    response = client.post("/api/v1/applications", json=body, headers=factories.jwt_headers(user))

    assert not _documented("ApplicationCreate", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "name"


@pytest.mark.parametrize("name", ["reference", "starting_after"])
def test_a_nul_in_a_query_value_is_documented_and_a_400_not_a_500(client, key_headers, name):
    response = client.get(
        "/api/v1/payment_sessions", query_string={name: "ps_\x00"}, headers=key_headers
    )

    assert not _query_documented("/api/v1/payment_sessions", name, "ps_\x00")
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "type": "invalid_request_error",
        "code": "parameter_invalid",
        "message": f"{name} must not contain NUL characters",
        "param": name,
    }
