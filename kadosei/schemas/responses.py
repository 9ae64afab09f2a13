"""What the API emits: one model per object (docs/api.md). ``kadosei.representation`` builds
these shapes as plain dicts (cheap); these models document them (the OpenAPI document is
generated from them) and the tests check every representation against them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from kadosei.schemas import limits
from kadosei.schemas.fields import (
    CaptureMethod,
    DeliveryStatus,
    EventType,
    Mode,
    PaymentMethod,
    RefundReason,
    RefundStatus,
    SessionStatus,
    SubscribableEvent,
    TeamRole,
)

TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
Timestamp = Annotated[
    str,
    Field(
        pattern=TIMESTAMP_PATTERN,
        description="ISO 8601 UTC with milliseconds and a `Z`",
        json_schema_extra={"format": "date-time"},
    ),
]
NullableTimestamp = Timestamp | None


def object_id(prefix: str):
    return Annotated[str, Field(pattern=f"^{prefix}_[0-9A-Za-z]+$")]


def _absent_when_none(schema: dict) -> None:
    """A field left out when it has no value: no ``null``, no default in the document."""
    schema.pop("default", None)


class ResponseObject(BaseModel):
    """An object as the API shows it: exactly these fields (the tests hold the
    representations to that)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(ResponseObject):
    type: Literal[
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "idempotency_error",
        "rate_limit_error",
        "api_error",
    ]
    code: str = Field(examples=["parameter_invalid"])
    message: str = Field(description="For people: what is wrong and how to put it right")
    param: str = Field(
        default=None,
        description="The parameter at fault, from its top level (`metadata.cart`)",
        json_schema_extra=_absent_when_none,
    )


class Error(ResponseObject):
    """The envelope of every error (docs/api.md §2)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "parameter_invalid",
                        "message": "amount must be at most 99999999",
                        "param": "amount",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


class TokenPair(ResponseObject):
    access_token: str = Field(description="A JWT (HS256) for `Authorization: Bearer …`")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str = Field(description="Single use: each refresh returns a new one")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid")


class Merchant(ResponseObject):
    id: object_id("mer")
    object: Literal["merchant"]
    name: Annotated[
        str,
        Field(
            max_length=limits.MERCHANT_NAME_MAX,
            description="The shop's name, shown to customers on kadosei's checkout pages",
        ),
    ]
    support_email: Annotated[
        str | None,
        Field(max_length=limits.EMAIL_MAX, description="Where customers may write; optional"),
    ]
    created_at: Timestamp


class TeamUser(ResponseObject):
    id: object_id("usr")
    object: Literal["user"]
    email: Annotated[str, Field(max_length=limits.EMAIL_MAX)]
    name: Annotated[str, Field(max_length=limits.PERSON_NAME_MAX)] | None
    role: TeamRole
    created_at: Timestamp
    last_login_at: NullableTimestamp


class DeletedTeamUser(ResponseObject):
    id: object_id("usr")
    object: Literal["user"]
    deleted: Literal[True]


class Invitation(ResponseObject):
    id: object_id("inv")
    object: Literal["invitation"]
    email: Annotated[str, Field(max_length=limits.EMAIL_MAX)]
    role: TeamRole
    status: Literal["pending", "accepted", "withdrawn", "expired"]
    invited_by: object_id("usr") | None = Field(description="The user who sent it")
    created_at: Timestamp
    expires_at: Timestamp


class NewInvitation(Invitation):
    accept_url: str = Field(
        description="Single use, valid 7 days: in this response only, never again",
        json_schema_extra={"format": "uri"},
    )


class Team(ResponseObject):
    object: Literal["team"]
    users: list[TeamUser]
    invitations: list[Invitation] = Field(description="Pending invitations, newest first")


class AuditEvent(ResponseObject):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "aud_4fG2b7Qx9LmN0pRsTuVwXy12",
                    "object": "audit_event",
                    "action": "team.role_changed",
                    "user": "usr_9LmN0pRsTuVwXy124fG2b7Qx",
                    "user_email": "owner@shop.example",
                    "target": "usr_0pRsTuVwXy124fG2b7Qx9LmN",
                    "ip": "203.0.113.7",
                    "details": {"from": "viewer", "to": "developer"},
                    "created_at": "2026-01-31T09:30:00.000Z",
                }
            ]
        }
    )

    id: object_id("aud")
    object: Literal["audit_event"]
    action: str = Field(
        description="What happened, e.g. `login.succeeded`, `api_key.created`, "
        "`refund.created`, `payment_session.captured`, `payment_session.voided`"
    )
    user: str | None = Field(
        description="Who did it (a `usr_…` id), when a person did; for a call with an API key "
        "`details` names the `api_key` and its `application` instead"
    )
    user_email: str | None = Field(description="Their e-mail address, while they are a user")
    target: str | None = Field(description="The object acted on, by id")
    ip: str | None
    details: dict
    created_at: Timestamp


class Application(ResponseObject):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "app_4fG2b7Qx9LmN0pRsTuVwXy12",
                    "object": "application",
                    "name": "Web store",
                    "description": None,
                    "archived": False,
                    "created_at": "2026-01-31T09:30:00.000Z",
                    "archived_at": None,
                }
            ]
        }
    )

    id: object_id("app")
    object: Literal["application"]
    name: Annotated[str, Field(max_length=limits.APPLICATION_NAME_MAX)]
    description: Annotated[str, Field(max_length=limits.APPLICATION_DESCRIPTION_MAX)] | None
    archived: bool
    created_at: Timestamp
    archived_at: NullableTimestamp


class ApiKey(ResponseObject):
    id: object_id("key")
    object: Literal["api_key"]
    application_id: object_id("app")
    mode: Mode
    name: Annotated[str, Field(max_length=limits.API_KEY_NAME_MAX)] | None
    hint: str = Field(description="Prefix and last four characters, e.g. `ks_test_4fG2…x9Qa`")
    created_at: Timestamp
    last_used_at: NullableTimestamp = Field(description="Updated about once a minute")
    revoked: bool
    revoked_at: NullableTimestamp


class NewApiKey(ApiKey):
    key: str = Field(
        pattern="^ks_(test|live)_[0-9A-Za-z]{43,}$",
        description="The full secret: in this response only, never again",
    )
    warning: str | None = Field(
        default=None,
        description="Present when the key cannot take payments yet: a live key while no "
        "live provider account is configured (sessions are refused with no_provider_available)",
    )


class WebhookEndpoint(ResponseObject):
    id: object_id("we")
    object: Literal["webhook_endpoint"]
    application_id: object_id("app")
    mode: Mode
    url: Annotated[str, Field(max_length=limits.URL_MAX)]
    description: Annotated[str, Field(max_length=limits.WEBHOOK_DESCRIPTION_MAX)] | None
    events: list[SubscribableEvent] = Field(description="Empty: every event type")
    enabled: bool
    disabled_reason: str | None
    created_at: Timestamp


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(
        pattern="^whsec_", description="Signs deliveries (Standard Webhooks); keep it secret"
    )


class DeletedWebhookEndpoint(ResponseObject):
    id: object_id("we")
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


class WebhookDelivery(ResponseObject):
    id: object_id("wd")
    object: Literal["webhook_delivery"]
    endpoint_id: object_id("we")
    event_id: object_id("evt")
    event_type: EventType
    status: DeliveryStatus
    attempt_count: Annotated[int, Field(ge=0)]
    last_status_code: int | None
    last_attempt_at: NullableTimestamp
    next_attempt_at: NullableTimestamp
    created_at: Timestamp
    completed_at: NullableTimestamp


class Failure(ResponseObject):
    code: str | None
    message: str | None


class LastFailure(ResponseObject):
    code: str | None
    message: str | None
    attempt: object_id("pa") = Field(description="The declined attempt (`pa_…`)")


SESSION_EXAMPLE = {
    "id": "ps_2b7Qx9LmN0pRsTuVwXy12aBc",
    "object": "payment_session",
    "status": "open",
    "mode": "test",
    "amount": 1999,
    "currency": "EUR",
    "payment_method": "card",
    "checkout_url": "https://pay.kadosei.example/checkout/ps_2b7Qx9LmN0pRsTuVwXy12aBc",
    "success_url": "https://shop.example/thanks",
    "cancel_url": "https://shop.example/cart",
    "reference": "order-42",
    "description": None,
    "customer_email": None,
    "metadata": {"cart": "c_1"},
    "created_at": "2026-01-31T09:30:00.000Z",
    "expires_at": "2026-01-31T10:30:00.000Z",
    "completed_at": None,
    "failure": None,
    "conflict": False,
    "capture_method": "automatic",
    "amount_captured": 0,
    "capture_before": None,
    "amount_refunded": 0,
    "attempts_failed": 0,
    "last_failure": None,
}


class PaymentSession(ResponseObject):
    model_config = ConfigDict(json_schema_extra={"examples": [SESSION_EXAMPLE]})

    id: object_id("ps")
    object: Literal["payment_session"]
    status: SessionStatus
    mode: Mode
    amount: Annotated[int, Field(ge=limits.AMOUNT_MIN, le=limits.AMOUNT_MAX)]
    currency: Annotated[str, Field(pattern="^[A-Z]{3}$")]
    payment_method: PaymentMethod
    checkout_url: str = Field(description="Send the customer here")
    success_url: str
    cancel_url: str
    reference: Annotated[str, Field(max_length=limits.REFERENCE_MAX)] | None
    description: Annotated[str, Field(max_length=limits.SESSION_DESCRIPTION_MAX)] | None
    customer_email: str | None
    metadata: dict[str, str]
    created_at: Timestamp
    expires_at: Timestamp
    completed_at: NullableTimestamp
    failure: Failure | None = Field(description="`{code, message}` when `failed`")
    conflict: bool = Field(description="A provider success arrived after the session ended")
    capture_method: CaptureMethod
    amount_captured: int = Field(
        ge=0,
        le=limits.AMOUNT_MAX,
        description="What was taken: `amount` once an automatic session succeeded, the "
        "captured part of a manual one",
    )
    capture_before: NullableTimestamp = Field(
        description="A `requires_capture` session's deadline: its authorisation is voided and "
        "the session `expired` if not captured by then (`KADOSEI_CAPTURE_WINDOW` after it was "
        "authorised); `null` in any other status"
    )
    attempts_failed: int = Field(
        ge=0,
        description="Declined attempts so far (the session stays `open` while attempts are left)",
    )
    last_failure: LastFailure | None = Field(
        description="`{code, message, attempt}` of the last declined attempt, else `null`"
    )
    amount_refunded: Annotated[int, Field(ge=0)] = Field(
        description="The sum of the session's succeeded refunds"
    )


REFUND_EXAMPLE = {
    "id": "re_7Qx9LmN0pRsTuVwXy12aBc2b",
    "object": "refund",
    "payment_session": "ps_2b7Qx9LmN0pRsTuVwXy12aBc",
    "amount": 500,
    "currency": "EUR",
    "status": "pending",
    "reason": "requested_by_customer",
    "failure": None,
    "metadata": {},
    "created_at": "2026-01-31T09:40:00.000Z",
    "completed_at": None,
}


class Refund(ResponseObject):
    model_config = ConfigDict(json_schema_extra={"examples": [REFUND_EXAMPLE]})

    id: object_id("re")
    object: Literal["refund"]
    payment_session: object_id("ps")
    amount: Annotated[int, Field(ge=limits.AMOUNT_MIN, le=limits.AMOUNT_MAX)]
    currency: Annotated[str, Field(pattern="^[A-Z]{3}$")]
    status: RefundStatus = Field(description="`pending` until the provider confirms")
    reason: RefundReason | None
    failure: Failure | None = Field(description="`{code, message}` when `failed`")
    metadata: dict[str, str]
    created_at: Timestamp
    completed_at: NullableTimestamp


class EventData(ResponseObject):
    object: PaymentSession | Refund | WebhookEndpoint = Field(
        description="The payment session as the API shows it (`refund.*`: the refund; "
        "`webhook.test`: the endpoint)"
    )


class Event(ResponseObject):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "evt_9LmN0pRsTuVwXy12aBc2b7Qx",
                    "object": "event",
                    "type": "payment_session.succeeded",
                    "created_at": "2026-01-31T09:31:10.250Z",
                    "mode": "test",
                    "data": {
                        "object": {
                            **SESSION_EXAMPLE,
                            "status": "succeeded",
                            "completed_at": "2026-01-31T09:31:10.250Z",
                            "amount_captured": 1999,
                        }
                    },
                }
            ]
        }
    )

    id: object_id("evt")
    object: Literal["event"]
    type: EventType
    created_at: Timestamp
    mode: Mode
    data: EventData


class NotificationReceived(ResponseObject):
    received: Literal[True]


def list_of(model: type[BaseModel]) -> type[BaseModel]:
    """The list envelope of ``model`` (docs/api.md §2 Lists)."""
    return create_model(
        f"{model.__name__}List",
        __base__=ResponseObject,
        object=(Literal["list"], ...),
        data=(list[model], ...),
        has_more=(bool, Field(description="More objects follow the last one")),
    )


ApplicationList = list_of(Application)
ApiKeyList = list_of(ApiKey)
WebhookEndpointList = list_of(WebhookEndpoint)
WebhookDeliveryList = list_of(WebhookDelivery)
PaymentSessionList = list_of(PaymentSession)
EventList = list_of(Event)
AuditEventList = list_of(AuditEvent)
RefundList = list_of(Refund)
