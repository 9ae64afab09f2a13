"""The OpenAPI 3.1 document (docs/api.md §2): served without auth, and it documents every API
route."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_document_is_openapi_3_1_and_needs_no_auth(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    assert document["paths"]
    assert {"schemas", "responses", "securitySchemes"} <= set(document["components"])


def test_every_api_route_is_documented_with_its_methods(app, document):
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/", "/providers/")):
            continue
        item = document["paths"].get(_openapi_path(rule.rule), {})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in item:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"not in the OpenAPI document: {missing}"


def test_every_documented_operation_exists(app, document):
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods or set()
    }
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert documented <= routes, sorted(documented - routes)


def test_every_reference_resolves(document):
    for ref in set(_refs(document)):
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][kind], ref


def test_path_parameters_are_declared(document):
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert names == declared, path


def test_operations_have_ids_security_and_responses(document):
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            ids.append(operation["operationId"])
            assert "security" in operation, (method, path)
            assert operation["responses"], (method, path)
    assert len(ids) == len(set(ids))


def test_security_schemes_are_jwt_and_api_key_bearers(document):
    schemes = document["components"]["securitySchemes"]

    assert schemes["managementToken"] == {
        **schemes["managementToken"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert schemes["apiKey"]["scheme"] == "bearer"
    merchant = document["paths"]["/api/v1/merchant"]["get"]
    sessions = document["paths"]["/api/v1/payment_sessions"]["post"]
    assert merchant["security"] == [{"managementToken": []}]
    assert sessions["security"] == [{"apiKey": []}]


def test_logout_documents_its_empty_body_with_an_access_token(document):
    logout = document["paths"]["/api/v1/auth/logout"]["post"]

    assert logout["requestBody"]["required"] is False
    assert "empty body" in logout["description"]


def test_error_envelope_and_contract_objects_are_described(document):
    schemas = document["components"]["schemas"]

    assert schemas["Error"]["properties"]["error"]["required"] == ["type", "code", "message"]
    for name in (
        "Merchant",
        "Application",
        "ApiKey",
        "NewApiKey",
        "WebhookEndpoint",
        "PaymentSession",
        "Event",
        "TokenPair",
    ):
        assert name in schemas
    assert "Retry-After" in document["components"]["responses"]["429"]["headers"]


def test_session_creation_documents_the_idempotency_key(document):
    operation = document["paths"]["/api/v1/payment_sessions"]["post"]

    header = next(p for p in operation["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key"
    assert header["schema"]["maxLength"] == 255
    assert {"201", "409", "422"} <= set(operation["responses"])


def test_the_document_matches_what_the_api_returns(api, document):
    """A created application and key carry exactly the documented required fields."""
    schemas = document["components"]["schemas"]
    application = api.post("/applications", {"name": "Shop"}).get_json()
    key = api.post(f"/applications/{application['id']}/api_keys", {"mode": "test"}).get_json()

    assert set(schemas["Application"]["required"]) == set(application)
    assert set(schemas["ApiKey"]["required"]) | {"key"} == set(key)
    assert set(schemas["Merchant"]["required"]) == set(api.get("/merchant").get_json())


def _with_examples(node, found=None) -> list[dict]:
    """Every schema in the document that carries ``examples``."""
    found = [] if found is None else found
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and ("type" in node or "properties" in node):
            found.append(node)
        for value in node.values():
            _with_examples(value, found)
    elif isinstance(node, list):
        for value in node:
            _with_examples(value, found)
    return found


def test_every_example_in_the_document_validates_against_its_schema(document):
    schemas = _with_examples(document)
    assert len(schemas) >= 5  # the objects' examples are there to be checked
    failures = []
    for schema in schemas:
        # The document's components ride along so that a ``$ref`` inside resolves.
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": document["components"]}
        )
        for example in schema["examples"]:
            failures += [
                f"{example!r}: {error.message}" for error in validator.iter_errors(example)
            ]
    assert not failures, failures


def test_a_broken_example_is_caught(document):
    session = document["components"]["schemas"]["PaymentSession"]
    validator = jsonschema_rs.Draft202012Validator(
        {**session, "components": document["components"]}
    )
    example = {**session["examples"][0], "amount": "19.99"}

    assert not validator.is_valid(example)
