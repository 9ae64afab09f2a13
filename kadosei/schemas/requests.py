"""What the API accepts: one model per JSON body and per list query (docs/api.md §2–§4).

Views parse with ``kadosei.schemas.parsing.parse``; services take these models. Request
bodies are closed (an unknown field is ``400 parameter_unknown``) and strict (no coercion).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from kadosei.schemas import limits
from kadosei.schemas.fields import (
    Amount,
    BlankIsAbsent,
    CaptureMethod,
    Credential,
    Currency,
    DeliveryStatus,
    EventType,
    EventTypes,
    ExpiresIn,
    MaxAttempts,
    Metadata,
    Mode,
    OptionalEmail,
    PageLimit,
    PaymentMethod,
    QueryText,
    RedirectUrl,
    RefundReason,
    RequiredEmail,
    SessionStatus,
    TeamRole,
    credential,
    optional_text,
    required_text,
)


class RequestBody(BaseModel):
    """A JSON body: closed, strict, and ``null`` for a field means leaving it out."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            return {name: value for name, value in data.items() if value is not None}
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Say so in the document: an optional field also takes ``null`` (meaning absent)."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            if name not in required and not _takes_null(prop):
                kept = {k: prop.pop(k) for k in ("title", "description", "default") if k in prop}
                schema["properties"][name] = {"anyOf": [prop, {"type": "null"}], **kept}
        return schema


def _takes_null(schema: dict) -> bool:
    return schema.get("type") == "null" or any(_takes_null(b) for b in schema.get("anyOf", ()))


class Changes(BaseModel):
    """A PATCH body: closed and strict; a field present (even ``null``) is a change."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EmptyBody(RequestBody):
    """An action that takes no fields: nothing, or ``{}``."""


# -- auth -----------------------------------------------------------------------------------


class LoginRequest(RequestBody):
    email: Credential = Field(examples=["owner@shop.example"])
    password: Credential = Field(examples=["correct horse battery"])
    otp: Annotated[
        credential(1, limits.OTP_MAX) | None,
        Field(
            description="For an account with two-factor authentication on: the 6-digit code "
            "of the authenticator app, or an unused recovery code. Without it such an account "
            "gets `401 otp_required`; a wrong or already used one, `401 otp_invalid`",
            examples=["492039"],
        ),
    ] = None


class RefreshRequest(RequestBody):
    refresh_token: Annotated[Credential, Field(description="The `rt_…` token of the last pair")]


class LogoutRequest(RequestBody):
    """Logout revokes the refresh token's family and the family of the access token presented
    in ``Authorization``; either one is enough."""

    refresh_token: Annotated[
        Credential | None, Field(description="The `rt_…` token of the pair to end")
    ] = None


class Signup(RequestBody):
    """A merchant and its owner (the portal's sign-up and the CLI)."""

    name: required_text(limits.MERCHANT_NAME_MAX)
    email: RequiredEmail
    password: credential(limits.PASSWORD_MIN, limits.PASSWORD_MAX)


class PasswordChange(RequestBody):
    """A new password for the signed-in user, given the current one."""

    current_password: Credential
    new_password: credential(limits.PASSWORD_MIN, limits.PASSWORD_MAX)


class NewPassword(RequestBody):
    """The password chosen on a password-reset link's page."""

    password: credential(limits.PASSWORD_MIN, limits.PASSWORD_MAX)


class MerchantUpdate(Changes):
    """The merchant's settings (owners): the shop's name, shown to customers on kadosei's
    checkout pages, and the support e-mail (``null`` clears it)."""

    name: required_text(limits.MERCHANT_NAME_MAX) = None  # type: ignore[assignment]
    support_email: OptionalEmail = None


# -- team (docs/api.md §11) ------------------------------------------------------------------


class InvitationCreate(RequestBody):
    email: RequiredEmail
    role: TeamRole


class TeamUserUpdate(RequestBody):
    role: TeamRole


class InvitationAccept(RequestBody):
    """The invited person's name and password (the password rules are sign-up's)."""

    name: required_text(limits.PERSON_NAME_MAX)
    password: credential(limits.PASSWORD_MIN, limits.PASSWORD_MAX)


# -- applications and keys ------------------------------------------------------------------


class ApplicationCreate(RequestBody):
    name: required_text(limits.APPLICATION_NAME_MAX)
    description: optional_text(limits.APPLICATION_DESCRIPTION_MAX) = None


class ApplicationUpdate(Changes):
    name: required_text(limits.APPLICATION_NAME_MAX) = None  # type: ignore[assignment]
    description: optional_text(limits.APPLICATION_DESCRIPTION_MAX) = None


class ApiKeyCreate(RequestBody):
    mode: Mode
    name: optional_text(limits.API_KEY_NAME_MAX) = None


# -- webhook endpoints ----------------------------------------------------------------------


class WebhookEndpointCreate(RequestBody):
    url: Annotated[
        required_text(limits.URL_MAX),
        Field(
            description="Live mode: https, never an internal address",
            json_schema_extra={"format": "uri"},
        ),
    ]
    mode: Mode
    events: EventTypes = []
    description: optional_text(limits.WEBHOOK_DESCRIPTION_MAX) = None


class WebhookEndpointUpdate(Changes):
    url: Annotated[required_text(limits.URL_MAX), Field(json_schema_extra={"format": "uri"})] = None  # type: ignore[assignment]
    events: Annotated[EventTypes | None, Field(description="`[]` or `null`: every type")] = None
    description: optional_text(limits.WEBHOOK_DESCRIPTION_MAX) = None
    enabled: bool = None  # type: ignore[assignment]


# -- payment sessions -----------------------------------------------------------------------


class PaymentSessionCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": 1999,
                    "currency": "EUR",
                    "payment_method": "card",
                    "success_url": "https://shop.example/thanks",
                    "cancel_url": "https://shop.example/cart",
                    "reference": "order-42",
                    "metadata": {"cart": "c_1"},
                }
            ]
        }
    )

    amount: Amount
    currency: Currency
    payment_method: PaymentMethod
    success_url: RedirectUrl
    cancel_url: RedirectUrl
    reference: optional_text(limits.REFERENCE_MAX, "Your order reference") = None
    description: optional_text(limits.SESSION_DESCRIPTION_MAX) = None
    customer_email: OptionalEmail = None
    metadata: Metadata = {}
    expires_in: ExpiresIn = limits.EXPIRES_IN_DEFAULT
    capture_method: Annotated[
        CaptureMethod,
        Field(description="`manual`: authorise now, capture later (`POST …/capture`)"),
    ] = "automatic"
    max_attempts: MaxAttempts = limits.MAX_ATTEMPTS_DEFAULT


class PaymentSessionCapture(RequestBody):
    """``POST /payment_sessions/{id}/capture``: how much of the authorisation to take."""

    amount: Annotated[
        Amount | None,
        Field(description="Default: all of it; at most what is authorised; the rest is released"),
    ] = None


# -- refunds --------------------------------------------------------------------------------


class RefundCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_session": "ps_2b7Qx9LmN0pRsTuVwXy12aBc",
                    "amount": 500,
                    "reason": "requested_by_customer",
                }
            ]
        }
    )

    payment_session: Annotated[
        str,
        Field(min_length=1, max_length=40, description="The paid session (`ps_…`) to refund"),
    ]
    amount: Annotated[
        Amount | None,
        Field(description="Default: all that is still refundable (captured − refunds not failed)"),
    ] = None
    reason: RefundReason | None = None
    metadata: Metadata = {}


# -- list queries ---------------------------------------------------------------------------


class PageQuery(BaseModel):
    """``?limit=&starting_after=`` of every list; other query parameters are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: PageLimit = limits.PAGE_LIMIT_DEFAULT
    starting_after: Annotated[
        QueryText | None,
        Field(description="The id of the last object of the previous page"),
    ] = None


class PaymentSessionListQuery(PageQuery):
    status: Annotated[
        SessionStatus | None, BlankIsAbsent, Field(description="Only this status")
    ] = None
    reference: Annotated[
        QueryText | None, BlankIsAbsent, Field(description="Only this reference")
    ] = None


class RefundListQuery(PageQuery):
    payment_session: Annotated[
        QueryText | None, BlankIsAbsent, Field(description="Only this session's refunds")
    ] = None


class EventListQuery(PageQuery):
    type: Annotated[EventType | None, BlankIsAbsent, Field(description="Only this type")] = None
    payment_session: Annotated[
        QueryText | None, BlankIsAbsent, Field(description="Only this session's events")
    ] = None


class WebhookEndpointListQuery(PageQuery):
    mode: Annotated[Mode | None, Field(description="Only this mode's endpoints")] = None


class WebhookDeliveryListQuery(PageQuery):
    status: Annotated[DeliveryStatus | None, Field(description="Only this status")] = None
    event_type: Annotated[EventType | None, Field(description="Only this event type")] = None
