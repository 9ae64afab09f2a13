"""The OpenAPI 3.1 document of the whole JSON API (contract §2), served without auth.

Written out as data so a reader sees the contract at a glance. Every ``/api/v1`` route must
appear here: ``tests/foundation/test_openapi.py`` fails when one is missing.
"""

from __future__ import annotations

from kadosei.api.blueprint import bp
from kadosei.api.openapi_components import (
    API_KEY,
    JSON,
    JWT,
    MODE,
    NO_AUTH,
    SCHEMAS,
    closed_object,
    error_responses,
    list_of,
    schema_ref,
    string,
)
from kadosei.models import EVENT_TYPES, SESSION_STATUSES


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(status: str) -> dict:
    return {"$ref": f"#/components/responses/{status}"}


def _operation(
    operation_id: str,
    summary: str,
    security: list,
    ok: tuple[int, dict],
    errors: tuple[str, ...],
    *,
    tag: str,
    body: dict | None = None,
    body_required: bool = True,
    parameters: list | None = None,
) -> dict:
    status, response = ok
    operation: dict = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "security": security,
        "responses": {str(status): response, **{code: _error(code) for code in errors}},
    }
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {JSON: {"schema": body}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_param(name: str, prefix: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{prefix}_[0-9A-Za-z]{{24,}}$"},
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PAGE_PARAMETERS = [
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "Page size, 1..100; anything else is `400`.",
    ),
    _query(
        "starting_after",
        {"type": "string"},
        "The id of the last object of the previous page; the next page follows it.",
    ),
]

APP_ID = _path_param("app_id", "app")
KEY_ID = _path_param("key_id", "key")
WE_ID = _path_param("we_id", "we")
SESSION_ID = _path_param("session_id", "ps")
EVENT_ID = _path_param("event_id", "evt")

# Errors every call of a kind can answer.
COMMON = ("400", "403", "405", "415", "429", "500")
AUTHED = ("401", *COMMON)
OF_OBJECT = ("401", "404", *COMMON)


def _auth_paths() -> dict:
    return {
        "/auth/login": {
            "post": _operation(
                "login",
                "Log in: a token pair",
                NO_AUTH,
                (200, _json(schema_ref("TokenPair"), "A new access and refresh token")),
                ("401", *COMMON),
                tag="auth",
                body=schema_ref("LoginRequest"),
            )
        },
        "/auth/refresh": {
            "post": _operation(
                "refresh",
                "Rotate: a new pair; a spent token revokes its family",
                NO_AUTH,
                (200, _json(schema_ref("TokenPair"), "The next pair")),
                ("401", *COMMON),
                tag="auth",
                body=schema_ref("RefreshRequest"),
            )
        },
        "/auth/logout": {
            "post": {
                **_operation(
                    "logout",
                    "Log out: the refresh token's family and a presented access token's stop "
                    "working",
                    [{}, *JWT],
                    (204, {"description": "Revoked"}),
                    ("401", *COMMON),
                    tag="auth",
                    body=schema_ref("RefreshRequest"),
                    body_required=False,
                ),
                "description": (
                    "With `{refresh_token}`, revokes that token's whole family, and the "
                    "family of the access token in `Authorization` when one is presented. "
                    "With an empty body (no `Content-Type` needed, §2), logs out the session "
                    "of the access token in `Authorization`: `204` when it is valid, "
                    "`401 missing_credentials` without one, `401 invalid_credentials` or "
                    "`token_expired` for a bad one."
                ),
            }
        },
    }


def _management_paths() -> dict:
    app_path = "/applications/{app_id}"
    return {
        "/merchant": {
            "get": _operation(
                "getMerchant",
                "The caller's merchant",
                JWT,
                (200, _json(schema_ref("Merchant"), "The merchant")),
                AUTHED,
                tag="merchant",
            )
        },
        "/applications": {
            "get": _operation(
                "listApplications",
                "The merchant's applications, newest first",
                JWT,
                (200, _json(list_of("Application"), "A page")),
                OF_OBJECT,
                tag="applications",
                parameters=PAGE_PARAMETERS,
            ),
            "post": _operation(
                "createApplication",
                "Create an application",
                JWT,
                (201, _json(schema_ref("Application"), "Created")),
                AUTHED,
                tag="applications",
                body=schema_ref("ApplicationCreate"),
            ),
        },
        app_path: {
            "parameters": [APP_ID],
            "get": _operation(
                "getApplication",
                "An application",
                JWT,
                (200, _json(schema_ref("Application"), "The application")),
                OF_OBJECT,
                tag="applications",
            ),
            "patch": _operation(
                "updateApplication",
                "Rename or describe",
                JWT,
                (200, _json(schema_ref("Application"), "Updated")),
                OF_OBJECT,
                tag="applications",
                body=schema_ref("ApplicationUpdate"),
            ),
            "delete": _operation(
                "archiveApplication",
                "Archive: its keys stop working, its data stays readable",
                JWT,
                (200, _json(schema_ref("Application"), "Archived")),
                OF_OBJECT,
                tag="applications",
            ),
        },
        f"{app_path}/api_keys": {
            "parameters": [APP_ID],
            "get": _operation(
                "listApiKeys",
                "The application's keys (never the secret)",
                JWT,
                (200, _json(list_of("ApiKey"), "A page")),
                OF_OBJECT,
                tag="api_keys",
                parameters=PAGE_PARAMETERS,
            ),
            "post": _operation(
                "createApiKey",
                "Create a key; the secret is in this response only",
                JWT,
                (201, _json(schema_ref("NewApiKey"), "Created")),
                OF_OBJECT,
                tag="api_keys",
                body=schema_ref("ApiKeyCreate"),
            ),
        },
        f"{app_path}/api_keys/{{key_id}}": {
            "parameters": [APP_ID, KEY_ID],
            "delete": _operation(
                "revokeApiKey",
                "Revoke at once",
                JWT,
                (200, _json(schema_ref("ApiKey"), "Revoked")),
                OF_OBJECT,
                tag="api_keys",
            ),
        },
    }


def _webhook_paths() -> dict:
    base = "/applications/{app_id}/webhook_endpoints"
    one = f"{base}/{{we_id}}"
    return {
        base: {
            "parameters": [APP_ID],
            "get": _operation(
                "listWebhookEndpoints",
                "The application's endpoints",
                JWT,
                (200, _json(list_of("WebhookEndpoint"), "A page")),
                OF_OBJECT,
                tag="webhook_endpoints",
                parameters=[_query("mode", MODE, "Only this mode's endpoints"), *PAGE_PARAMETERS],
            ),
            "post": _operation(
                "createWebhookEndpoint",
                "Create an endpoint; its secret is returned",
                JWT,
                (201, _json(schema_ref("WebhookEndpointWithSecret"), "Created")),
                OF_OBJECT,
                tag="webhook_endpoints",
                body=schema_ref("WebhookEndpointCreate"),
            ),
        },
        one: {
            "parameters": [APP_ID, WE_ID],
            "get": _operation(
                "getWebhookEndpoint",
                "An endpoint",
                JWT,
                (200, _json(schema_ref("WebhookEndpoint"), "The endpoint")),
                OF_OBJECT,
                tag="webhook_endpoints",
            ),
            "patch": _operation(
                "updateWebhookEndpoint",
                "Change url, events, enabled",
                JWT,
                (200, _json(schema_ref("WebhookEndpoint"), "Updated")),
                OF_OBJECT,
                tag="webhook_endpoints",
                body=schema_ref("WebhookEndpointUpdate"),
            ),
            "delete": _operation(
                "deleteWebhookEndpoint",
                "Delete",
                JWT,
                (200, _json(schema_ref("DeletedWebhookEndpoint"), "Deleted")),
                OF_OBJECT,
                tag="webhook_endpoints",
            ),
        },
        f"{one}/test": {
            "parameters": [APP_ID, WE_ID],
            "post": _operation(
                "testWebhookEndpoint",
                "Send a `webhook.test` event to it",
                JWT,
                (201, _json(schema_ref("Event"), "The test event")),
                OF_OBJECT,
                tag="webhook_endpoints",
                body=closed_object({}),
                body_required=False,
            ),
        },
        f"{one}/rotate_secret": {
            "parameters": [APP_ID, WE_ID],
            "post": _operation(
                "rotateWebhookSecret",
                "A new signing secret",
                JWT,
                (200, _json(schema_ref("WebhookEndpointWithSecret"), "Rotated")),
                OF_OBJECT,
                tag="webhook_endpoints",
                body=closed_object({}),
                body_required=False,
            ),
        },
        f"{one}/deliveries": {
            "parameters": [APP_ID, WE_ID],
            "get": _operation(
                "listWebhookDeliveries",
                "The endpoint's delivery log",
                JWT,
                (200, _json(list_of("WebhookDelivery"), "A page")),
                OF_OBJECT,
                tag="webhook_endpoints",
                parameters=[
                    _query("status", string(), "Only deliveries in this status"),
                    _query("event_type", {"enum": list(EVENT_TYPES)}, "Only this event type"),
                    *PAGE_PARAMETERS,
                ],
            ),
        },
    }


def _payment_paths() -> dict:
    idempotency_key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": string(255, minLength=1),
        "description": "Same key and body: the first response again (kept at least 24 h).",
    }
    return {
        "/payment_sessions": {
            "post": _operation(
                "createPaymentSession",
                "Create a payment session",
                API_KEY,
                (201, _json(schema_ref("PaymentSession"), "Created")),
                ("401", "409", "422", *COMMON),
                tag="payment_sessions",
                body=schema_ref("PaymentSessionCreate"),
                parameters=[idempotency_key],
            ),
            "get": _operation(
                "listPaymentSessions",
                "Sessions of the key's application and mode",
                API_KEY,
                (200, _json(list_of("PaymentSession"), "A page")),
                OF_OBJECT,
                tag="payment_sessions",
                parameters=[
                    _query("status", {"enum": list(SESSION_STATUSES)}, "Only this status"),
                    _query("reference", string(255), "Only this reference"),
                    *PAGE_PARAMETERS,
                ],
            ),
        },
        "/payment_sessions/{session_id}": {
            "parameters": [SESSION_ID],
            "get": _operation(
                "getPaymentSession",
                "A session",
                API_KEY,
                (200, _json(schema_ref("PaymentSession"), "The session")),
                OF_OBJECT,
                tag="payment_sessions",
            ),
        },
        "/payment_sessions/{session_id}/cancel": {
            "parameters": [SESSION_ID],
            "post": _operation(
                "cancelPaymentSession",
                "`open` → `canceled`",
                API_KEY,
                (200, _json(schema_ref("PaymentSession"), "Canceled")),
                ("422", *OF_OBJECT),
                tag="payment_sessions",
                body=closed_object({}),
                body_required=False,
            ),
        },
        "/events": {
            "get": _operation(
                "listEvents",
                "The application's events in the key's mode",
                API_KEY,
                (200, _json(list_of("Event"), "A page")),
                OF_OBJECT,
                tag="events",
                parameters=[
                    _query("type", {"enum": list(EVENT_TYPES)}, "Only this type"),
                    _query("payment_session", string(), "Only this session's events"),
                    *PAGE_PARAMETERS,
                ],
            )
        },
        "/events/{event_id}": {
            "parameters": [EVENT_ID],
            "get": _operation(
                "getEvent",
                "An event",
                API_KEY,
                (200, _json(schema_ref("Event"), "The event")),
                OF_OBJECT,
                tag="events",
            ),
        },
    }


def _notification_paths() -> dict:
    provider = {"name": "provider", "in": "path", "required": True, "schema": string()}
    operation = _operation(
        "receiveProviderNotification",
        "A PSP's signed notification; one that does not verify is 400 and changes nothing",
        NO_AUTH,
        (200, _json(schema_ref("NotificationReceived"), "Verified and recorded")),
        ("400", "403", "404", "500"),
        tag="provider_notifications",
        body={"type": "object", "description": "The provider's own signed format"},
    )
    return {"/providers/{provider}/notifications": {"parameters": [provider], "post": operation}}


def _openapi_path() -> dict:
    return {
        "/openapi.json": {
            "get": _operation(
                "getOpenApi",
                "This document",
                NO_AUTH,
                (200, _json({"type": "object"}, "The OpenAPI 3.1 document")),
                ("500",),
                tag="meta",
            )
        }
    }


def _prefixed(paths: dict, prefix: str = "/api/v1") -> dict:
    return {prefix + path: item for path, item in paths.items()}


def openapi_document() -> dict:
    """The whole document; cheap to build, so it is built per request (no stale copy)."""
    api_paths = {
        **_auth_paths(),
        **_management_paths(),
        **_webhook_paths(),
        **_payment_paths(),
        **_openapi_path(),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kadosei API",
            "version": "1",
            "description": "Payment orchestration: one integration, every provider. Amounts are "
            "integers in minor units; timestamps ISO 8601 UTC with `Z`; every "
            "response carries `X-Request-Id`; HTTPS only.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": name}
            for name in (
                "auth",
                "merchant",
                "applications",
                "api_keys",
                "webhook_endpoints",
                "payment_sessions",
                "events",
                "provider_notifications",
                "meta",
            )
        ],
        "paths": {**_prefixed(api_paths), **_notification_paths()},
        "components": {
            "schemas": SCHEMAS,
            "responses": error_responses(),
            "securitySchemes": {
                "managementToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from POST /api/v1/auth/login",
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "ks_test_… / ks_live_…",
                    "description": "An API key: it decides the application and the mode",
                },
            },
        },
    }


@bp.get("/openapi.json")
def get_openapi():
    return openapi_document()
