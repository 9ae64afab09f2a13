"""Components of the OpenAPI document: the contract's objects, the error envelope, and the
small builders the paths share (see ``kadosei.api.openapi``)."""

from __future__ import annotations

from kadosei.models import EVENT_TYPES, PAYMENT_METHODS, SESSION_STATUSES

JSON = "application/json"
MODE = {"type": "string", "enum": ["test", "live"]}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "ISO 8601 UTC, `Z` suffix"}
NULLABLE_TIMESTAMP = {**TIMESTAMP, "type": ["string", "null"]}
JWT = [{"managementToken": []}]
API_KEY = [{"apiKey": []}]
NO_AUTH: list = []


def schema_ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def string(max_length: int | None = None, **extra) -> dict:
    schema = {"type": "string", **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def closed_object(properties: dict, required: list[str] | None = None, **extra) -> dict:
    """A closed object: unknown fields are ``400 parameter_unknown``."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return {**schema, **extra}


def list_of(name: str) -> dict:
    return {
        "type": "object",
        "required": ["object", "data", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": schema_ref(name)},
            "has_more": {"type": "boolean"},
        },
    }


SCHEMAS: dict = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "code", "message"],
                "properties": {
                    "type": {
                        "type": "string",
                        "enum": [
                            "invalid_request_error",
                            "authentication_error",
                            "permission_error",
                            "idempotency_error",
                            "rate_limit_error",
                            "api_error",
                        ],
                    },
                    "code": {"type": "string", "examples": ["parameter_invalid"]},
                    "message": {"type": "string"},
                    "param": {"type": "string", "description": "The field at fault, if any"},
                },
            }
        },
    },
    "LoginRequest": closed_object(
        {"email": string(320, format="email"), "password": string(1024)},
        ["email", "password"],
    ),
    "RefreshRequest": closed_object({"refresh_token": string(200)}, ["refresh_token"]),
    "TokenPair": {
        "type": "object",
        "required": [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "refresh_expires_in",
        ],
        "properties": {
            "access_token": {"type": "string", "description": "A JWT (HS256), ~15 minutes"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "description": "Seconds"},
            "refresh_token": {"type": "string", "description": "Single use; rotates"},
            "refresh_expires_in": {"type": "integer", "description": "Seconds"},
        },
    },
    "Merchant": {
        "type": "object",
        "required": ["id", "object", "name", "created_at"],
        "properties": {
            "id": string(pattern="^mer_"),
            "object": {"const": "merchant"},
            "name": string(200),
            "created_at": TIMESTAMP,
        },
    },
    "Application": {
        "type": "object",
        "required": [
            "id",
            "object",
            "name",
            "description",
            "archived",
            "created_at",
            "archived_at",
        ],
        "properties": {
            "id": string(pattern="^app_"),
            "object": {"const": "application"},
            "name": string(100),
            "description": nullable(string(500)),
            "archived": {"type": "boolean"},
            "created_at": TIMESTAMP,
            "archived_at": NULLABLE_TIMESTAMP,
        },
    },
    "ApplicationCreate": closed_object(
        {"name": string(100, minLength=1), "description": nullable(string(500))}, ["name"]
    ),
    "ApplicationUpdate": closed_object(
        {"name": string(100, minLength=1), "description": nullable(string(500))}
    ),
    "ApiKey": {
        "type": "object",
        "required": [
            "id",
            "object",
            "application_id",
            "mode",
            "name",
            "hint",
            "created_at",
            "last_used_at",
            "revoked",
            "revoked_at",
        ],
        "properties": {
            "id": string(pattern="^key_"),
            "object": {"const": "api_key"},
            "application_id": string(),
            "mode": MODE,
            "name": nullable(string(100)),
            "hint": string(description="Prefix and last four characters, e.g. `ks_test_4fG2…x9Qa`"),
            "created_at": TIMESTAMP,
            "last_used_at": {**NULLABLE_TIMESTAMP, "description": "Updated about once a minute"},
            "revoked": {"type": "boolean"},
            "revoked_at": NULLABLE_TIMESTAMP,
        },
    },
    "ApiKeyCreate": closed_object({"mode": MODE, "name": nullable(string(100))}, ["mode"]),
    "NewApiKey": {
        "allOf": [schema_ref("ApiKey")],
        "required": ["key"],
        "properties": {
            "key": string(
                pattern="^ks_(test|live)_[0-9A-Za-z]{43,}$",
                description="The full secret: present in this response only",
            ),
        },
    },
    "WebhookEndpoint": {
        "type": "object",
        "required": [
            "id",
            "object",
            "application_id",
            "mode",
            "url",
            "events",
            "enabled",
            "created_at",
        ],
        "properties": {
            "id": string(pattern="^we_"),
            "object": {"const": "webhook_endpoint"},
            "application_id": string(),
            "mode": MODE,
            "url": string(2048, format="uri"),
            "description": nullable(string(500)),
            "events": {
                "type": "array",
                "items": {"enum": list(EVENT_TYPES)},
                "description": "The event types sent to it",
            },
            "enabled": {"type": "boolean"},
            "disabled_reason": nullable(string()),
            "created_at": TIMESTAMP,
        },
    },
    "WebhookEndpointWithSecret": {
        "allOf": [schema_ref("WebhookEndpoint")],
        "required": ["secret"],
        "properties": {
            "secret": string(pattern="^whsec_", description="Signs deliveries (Standard Webhooks)")
        },
    },
    "WebhookEndpointCreate": closed_object(
        {
            "url": string(
                2048, format="uri", description="Live mode: https, never an internal address"
            ),
            "mode": MODE,
            "events": {
                "type": "array",
                "items": {"enum": list(EVENT_TYPES)},
                "description": "Default: every type",
            },
            "description": nullable(string(500)),
        },
        ["url", "mode"],
    ),
    "WebhookEndpointUpdate": closed_object(
        {
            "url": string(2048, format="uri"),
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}},
            "description": nullable(string(500)),
            "enabled": {"type": "boolean"},
        }
    ),
    "DeletedWebhookEndpoint": {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": string(),
            "object": {"const": "webhook_endpoint"},
            "deleted": {"const": True},
        },
    },
    "WebhookDelivery": {
        "type": "object",
        "required": [
            "id",
            "object",
            "endpoint_id",
            "event_id",
            "event_type",
            "status",
            "attempt_count",
            "created_at",
        ],
        "properties": {
            "id": string(pattern="^wd_"),
            "object": {"const": "webhook_delivery"},
            "endpoint_id": string(),
            "event_id": string(),
            "event_type": {"enum": list(EVENT_TYPES)},
            "status": string(examples=["pending", "succeeded", "failed"]),
            "attempt_count": {"type": "integer", "minimum": 0},
            "last_status_code": {"type": ["integer", "null"]},
            "last_attempt_at": NULLABLE_TIMESTAMP,
            "next_attempt_at": NULLABLE_TIMESTAMP,
            "created_at": TIMESTAMP,
            "completed_at": NULLABLE_TIMESTAMP,
        },
    },
    "PaymentSessionCreate": closed_object(
        {
            "amount": {
                "type": "integer",
                "minimum": 1,
                "maximum": 99999999,
                "description": "In the currency's minor unit",
            },
            "currency": string(pattern="^[A-Z]{3}$", description="ISO 4217, upper case"),
            "payment_method": {"enum": list(PAYMENT_METHODS)},
            "success_url": string(format="uri", description="Absolute https URL"),
            "cancel_url": string(format="uri", description="Absolute https URL"),
            "reference": nullable(string(255)),
            "description": nullable(string(1000)),
            "customer_email": nullable(string(320, format="email")),
            "metadata": {
                "type": "object",
                "maxProperties": 50,
                "propertyNames": {"maxLength": 40},
                "additionalProperties": string(500),
            },
            "expires_in": {"type": "integer", "minimum": 300, "maximum": 86400, "default": 3600},
        },
        ["amount", "currency", "payment_method", "success_url", "cancel_url"],
    ),
    "PaymentSession": {
        "type": "object",
        "required": [
            "id",
            "object",
            "status",
            "mode",
            "amount",
            "currency",
            "payment_method",
            "checkout_url",
            "success_url",
            "cancel_url",
            "reference",
            "description",
            "customer_email",
            "metadata",
            "created_at",
            "expires_at",
            "completed_at",
            "failure",
            "conflict",
        ],
        "properties": {
            "id": string(pattern="^ps_"),
            "object": {"const": "payment_session"},
            "status": {"enum": list(SESSION_STATUSES)},
            "mode": MODE,
            "amount": {"type": "integer"},
            "currency": string(pattern="^[A-Z]{3}$"),
            "payment_method": {"enum": list(PAYMENT_METHODS)},
            "checkout_url": string(format="uri"),
            "success_url": string(format="uri"),
            "cancel_url": string(format="uri"),
            "reference": nullable(string(255)),
            "description": nullable(string(1000)),
            "customer_email": nullable(string()),
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "created_at": TIMESTAMP,
            "expires_at": TIMESTAMP,
            "completed_at": NULLABLE_TIMESTAMP,
            "failure": {
                "type": ["object", "null"],
                "properties": {"code": string(), "message": string()},
                "description": "`{code, message}` when `failed`",
            },
            "conflict": {
                "type": "boolean",
                "description": "A provider success arrived after a terminal failure",
            },
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "object", "type", "created_at", "mode", "data"],
        "properties": {
            "id": string(pattern="^evt_"),
            "object": {"const": "event"},
            "type": {"enum": list(EVENT_TYPES)},
            "created_at": TIMESTAMP,
            "mode": MODE,
            "data": {
                "type": "object",
                "properties": {
                    "object": {
                        "type": "object",
                        "description": "The payment session as the API shows it",
                    }
                },
            },
        },
    },
    "NotificationReceived": {
        "type": "object",
        "required": ["received"],
        "properties": {"received": {"const": True}},
    },
}

ERROR_RESPONSES = {
    "400": "Invalid request: parameter_missing, parameter_invalid, parameter_unknown, json_invalid",
    "401": "Authentication failed: missing_credentials, invalid_credentials, token_expired, "
    "key_revoked",
    "403": "Plain HTTP (https_required) or forbidden",
    "404": "resource_missing: unknown, or another merchant's or mode's object",
    "405": "method_not_allowed",
    "409": "idempotency_key_in_use or idempotency_key_reused",
    "415": "unsupported_media_type: a non-empty body that is not JSON",
    "422": "The request is valid but cannot be carried out (session_not_cancelable, "
    "no_provider_available)",
    "429": "rate_limited; see Retry-After",
    "500": "internal_error (logged with the request id)",
}


def error_responses() -> dict:
    responses = {
        code: {"description": text, "content": {JSON: {"schema": schema_ref("Error")}}}
        for code, text in ERROR_RESPONSES.items()
    }
    responses["429"]["headers"] = {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}
    }
    return responses
