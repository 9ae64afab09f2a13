"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document of the whole JSON API, generated
(``kadosei.schemas.openapi``) from the request and response models and this table of
operations. Every API route must have a row: ``tests/foundation/test_openapi.py`` fails when
one is missing."""

from __future__ import annotations

from functools import cache

from kadosei.api.blueprint import bp
from kadosei.schemas import requests as rq
from kadosei.schemas import responses as rs
from kadosei.schemas.limits import IDEMPOTENCY_KEY_MAX
from kadosei.schemas.openapi import Operation, PathParameter, Response, build_document

JWT, API_KEY, NO_AUTH = "managementToken", "apiKey", None
# Errors every call of a kind can answer.
COMMON = ("400", "403", "405", "415", "429", "500")
AUTHED = ("401", *COMMON)
OF_OBJECT = ("401", "404", *COMMON)

ERROR_RESPONSES = {
    "400": "Invalid request: parameter_missing, parameter_invalid, parameter_unknown, json_invalid",
    "401": "Authentication failed: missing_credentials, invalid_credentials, token_expired, "
    "key_revoked (log-in: otp_required, otp_invalid)",
    "403": "Plain HTTP (https_required) or forbidden",
    "404": "resource_missing: unknown, or another merchant's or mode's object",
    "405": "method_not_allowed",
    "409": "idempotency_key_in_use or idempotency_key_reused",
    "415": "unsupported_media_type: a non-empty body that is not JSON",
    "422": "The request is valid but cannot be carried out (session_not_cancelable, "
    "session_not_capturable, amount_exceeds_authorized, no_provider_available, "
    "webhook_endpoint_disabled, last_owner, already_a_member, invitation_pending, "
    "invitation_accepted, session_not_refundable, amount_exceeds_refundable)",
    "429": "rate_limited; see Retry-After",
    "500": "internal_error (logged with the request id)",
    "503": "provider_unavailable: the provider could not confirm; nothing changed, retry",
}

PATH_PARAMETERS = (
    PathParameter("app_id", "app"),
    PathParameter("key_id", "key"),
    PathParameter("we_id", "we"),
    PathParameter("session_id", "ps"),
    PathParameter("event_id", "evt"),
    PathParameter("refund_id", "re"),
    PathParameter("provider", None),
    PathParameter("usr_id", "usr"),
    PathParameter("inv_id", "inv"),
)

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
    "description": "Same key and body: the first response again (kept at least 24 h); "
    "another body: `409 idempotency_key_reused`.",
}

V1 = "/api/v1"
APP = f"{V1}/applications/{{app_id}}"
ENDPOINT = f"{APP}/webhook_endpoints/{{we_id}}"
SESSION = f"{V1}/payment_sessions/{{session_id}}"


def _ok(model, description: str, status: int = 200) -> Response:
    return Response(status, description, model)


OPERATIONS = (
    # -- auth
    Operation("post", f"{V1}/auth/login", "login", "Log in: a token pair", "auth", NO_AUTH,
              _ok(rs.TokenPair, "A new access and refresh token"), ("401", *COMMON),
              body=rq.LoginRequest,
              description="Wrong credentials: `401 invalid_credentials`. An account with "
              "two-factor authentication on also needs `otp` (a code of the authenticator app "
              "or an unused recovery code): `401 otp_required` without it, `401 otp_invalid` "
              "for a wrong or already used one. Failures count toward the log-in limit (`429`)."),
    Operation("post", f"{V1}/auth/refresh", "refresh",
              "Rotate: a new pair; a spent token revokes its family", "auth", NO_AUTH,
              _ok(rs.TokenPair, "The next pair"), ("401", *COMMON), body=rq.RefreshRequest),
    Operation("post", f"{V1}/auth/logout", "logout",
              "Log out: the refresh token's family and a presented access token's stop working",
              "auth", NO_AUTH, Response(204, "Revoked"), ("401", *COMMON),
              body=rq.RefreshRequest, body_required=False,
              description="With `{refresh_token}`, revokes that token's whole family, and the "
              "family of the access token in `Authorization` when one is presented. With an "
              "empty body (no `Content-Type` needed, §2), logs out the session of the access "
              "token in `Authorization`: `204` when it is valid, `401 missing_credentials` "
              "without one, `401 invalid_credentials` or `token_expired` for a bad one."),
    # -- merchant, applications, keys
    Operation("get", f"{V1}/merchant", "getMerchant", "The caller's merchant", "merchant", JWT,
              _ok(rs.Merchant, "The merchant"), AUTHED),
    Operation("patch", f"{V1}/merchant", "updateMerchant",
              "Change the shop's name (shown to customers) or support e-mail", "merchant", JWT,
              _ok(rs.Merchant, "Updated"), AUTHED, body=rq.MerchantUpdate,
              description="Owners. Only the fields given change; `support_email: null` clears "
              "it."),
    Operation("get", f"{V1}/applications", "listApplications",
              "The merchant's applications, newest first", "applications", JWT,
              _ok(rs.ApplicationList, "A page"), OF_OBJECT, query=rq.PageQuery),
    Operation("post", f"{V1}/applications", "createApplication", "Create an application",
              "applications", JWT, _ok(rs.Application, "Created", 201), AUTHED,
              body=rq.ApplicationCreate),
    Operation("get", APP, "getApplication", "An application", "applications", JWT,
              _ok(rs.Application, "The application"), OF_OBJECT),
    Operation("patch", APP, "updateApplication", "Rename or describe", "applications", JWT,
              _ok(rs.Application, "Updated"), OF_OBJECT, body=rq.ApplicationUpdate,
              description="Only the fields given change; `description: null` clears it."),
    Operation("delete", APP, "archiveApplication",
              "Archive: its keys stop working, its data stays readable", "applications", JWT,
              _ok(rs.Application, "Archived"), OF_OBJECT),
    Operation("get", f"{APP}/api_keys", "listApiKeys", "The application's keys (never the secret)",
              "api_keys", JWT, _ok(rs.ApiKeyList, "A page"), OF_OBJECT, query=rq.PageQuery),
    Operation("post", f"{APP}/api_keys", "createApiKey",
              "Create a key; the secret is in this response only", "api_keys", JWT,
              _ok(rs.NewApiKey, "Created", 201), OF_OBJECT, body=rq.ApiKeyCreate),
    Operation("delete", f"{APP}/api_keys/{{key_id}}", "revokeApiKey", "Revoke at once",
              "api_keys", JWT, _ok(rs.ApiKey, "Revoked"), OF_OBJECT),
    # -- webhook endpoints
    Operation("get", f"{APP}/webhook_endpoints", "listWebhookEndpoints",
              "The application's endpoints", "webhook_endpoints", JWT,
              _ok(rs.WebhookEndpointList, "A page"), OF_OBJECT, query=rq.WebhookEndpointListQuery),
    Operation("post", f"{APP}/webhook_endpoints", "createWebhookEndpoint",
              "Create an endpoint; its signing secret is returned", "webhook_endpoints", JWT,
              _ok(rs.WebhookEndpointWithSecret, "Created", 201), OF_OBJECT,
              body=rq.WebhookEndpointCreate),
    Operation("get", ENDPOINT, "getWebhookEndpoint", "An endpoint", "webhook_endpoints", JWT,
              _ok(rs.WebhookEndpoint, "The endpoint"), OF_OBJECT),
    Operation("patch", ENDPOINT, "updateWebhookEndpoint", "Change url, events, enabled",
              "webhook_endpoints", JWT, _ok(rs.WebhookEndpoint, "Updated"), OF_OBJECT,
              body=rq.WebhookEndpointUpdate),
    Operation("delete", ENDPOINT, "deleteWebhookEndpoint", "Delete: nothing more is sent to it",
              "webhook_endpoints", JWT, _ok(rs.DeletedWebhookEndpoint, "Deleted"), OF_OBJECT),
    Operation("post", f"{ENDPOINT}/test", "testWebhookEndpoint",
              "Send a `webhook.test` event to it", "webhook_endpoints", JWT,
              _ok(rs.Event, "The test event", 201), ("422", *OF_OBJECT), body=rq.EmptyBody,
              body_required=False),
    Operation("post", f"{ENDPOINT}/rotate_secret", "rotateWebhookSecret",
              "A new signing secret; the old one keeps signing for 24 hours", "webhook_endpoints",
              JWT, _ok(rs.WebhookEndpointWithSecret, "Rotated"), OF_OBJECT, body=rq.EmptyBody,
              body_required=False),
    Operation("get", f"{ENDPOINT}/deliveries", "listWebhookDeliveries",
              "The endpoint's delivery log", "webhook_endpoints", JWT,
              _ok(rs.WebhookDeliveryList, "A page"), OF_OBJECT,
              query=rq.WebhookDeliveryListQuery),
    # -- team and audit log (docs/api.md §11)
    Operation("get", f"{V1}/team", "getTeam", "The merchant's users and pending invitations",
              "team", JWT, _ok(rs.Team, "The team"), AUTHED),
    Operation("post", f"{V1}/team/invitations", "createInvitation",
              "Owners: invite someone with a role; the link is in this response only", "team",
              JWT, _ok(rs.NewInvitation, "Created", 201), ("422", *AUTHED),
              body=rq.InvitationCreate,
              description="`accept_url` works once, for 7 days; only a digest of it is kept. "
              "An address already on the team is `422 already_a_member`; one with a pending "
              "invitation `422 invitation_pending` (withdraw it to send another)."),
    Operation("delete", f"{V1}/team/invitations/{{inv_id}}", "withdrawInvitation",
              "Owners: withdraw; the link stops working at once", "team", JWT,
              _ok(rs.Invitation, "Withdrawn"), ("422", *OF_OBJECT)),
    Operation("patch", f"{V1}/team/users/{{usr_id}}", "updateTeamUser",
              "Owners: change a user's role", "team", JWT, _ok(rs.TeamUser, "Changed"),
              ("422", *OF_OBJECT), body=rq.TeamUserUpdate,
              description="The merchant keeps at least one owner: demoting the last is "
              "`422 last_owner`. The new role applies from the user's next request."),
    Operation("delete", f"{V1}/team/users/{{usr_id}}", "removeTeamUser",
              "Owners: remove a user; their tokens and portal sessions end at once", "team", JWT,
              _ok(rs.DeletedTeamUser, "Removed"), ("422", *OF_OBJECT),
              description="Removing the last owner is `422 last_owner`."),
    Operation("get", f"{V1}/audit_events", "listAuditEvents",
              "Owners: who did what and when, newest first", "audit_events", JWT,
              _ok(rs.AuditEventList, "A page"), OF_OBJECT, query=rq.PageQuery),
    # -- payments
    Operation("post", f"{V1}/payment_sessions", "createPaymentSession", "Create a payment session",
              "payment_sessions", API_KEY, _ok(rs.PaymentSession, "Created", 201),
              ("401", "409", "422", *COMMON), body=rq.PaymentSessionCreate,
              headers=(IDEMPOTENCY_KEY,),
              description="Validation comes first; then, if no enabled provider in the key's "
              "mode supports the method and currency, `422 no_provider_available`."),
    Operation("get", f"{V1}/payment_sessions", "listPaymentSessions",
              "Sessions of the key's application and mode", "payment_sessions", API_KEY,
              _ok(rs.PaymentSessionList, "A page"), OF_OBJECT, query=rq.PaymentSessionListQuery),
    Operation("get", SESSION, "getPaymentSession", "A session", "payment_sessions", API_KEY,
              _ok(rs.PaymentSession, "The session"), OF_OBJECT),
    Operation("post", f"{SESSION}/cancel", "cancelPaymentSession",
              "`open` → `canceled`; `requires_capture` → `canceled` (the authorisation voided)",
              "payment_sessions", API_KEY, _ok(rs.PaymentSession, "Canceled"),
              ("409", "422", "503", *OF_OBJECT), body=rq.EmptyBody, body_required=False,
              headers=(IDEMPOTENCY_KEY,)),
    Operation("post", f"{SESSION}/capture", "capturePaymentSession",
              "`requires_capture` → `succeeded`: capture all or part of the authorisation",
              "payment_sessions", API_KEY, _ok(rs.PaymentSession, "Captured"),
              ("409", "422", "503", *OF_OBJECT), body=rq.PaymentSessionCapture,
              body_required=False, headers=(IDEMPOTENCY_KEY,),
              description="Captures `amount` (default: all of it; at most the authorised "
              "amount, else `422 amount_exceeds_authorized`) at the provider; the rest is "
              "released and the session is `succeeded` with `amount_captured`. Any status "
              "but `requires_capture`: `422 session_not_capturable`. `503 "
              "provider_unavailable`: the provider did not confirm; nothing changed, retry."),
    Operation("post", f"{V1}/refunds", "createRefund",
              "Refund (part of) a paid session through the provider that took the money",
              "refunds", API_KEY, _ok(rs.Refund, "Created (`pending` until the provider "
              "confirms)", 201), ("409", "422", "503", *OF_OBJECT), body=rq.RefundCreate,
              headers=(IDEMPOTENCY_KEY,),
              description="`amount` defaults to what is still refundable: `amount_captured` "
              "− the refunds that have not failed; more is `422 amount_exceeds_refundable`, "
              "a session that took no money `422 session_not_refundable`. A session flagged "
              "`conflict` is refundable for what its provider took. If the provider refuses "
              "or fails, nothing is written: `503 provider_unavailable`, try again. If it does "
              "not answer in time, the refund is `pending` and kadosei sends it again under "
              "the same id until the provider answers."),
    Operation("get", f"{V1}/refunds", "listRefunds",
              "Refunds of the key's application and mode, newest first", "refunds", API_KEY,
              _ok(rs.RefundList, "A page"), OF_OBJECT, query=rq.RefundListQuery),
    Operation("get", f"{V1}/refunds/{{refund_id}}", "getRefund", "A refund", "refunds",
              API_KEY, _ok(rs.Refund, "The refund"), OF_OBJECT),
    Operation("get", f"{V1}/events", "listEvents", "The application's events in the key's mode",
              "events", API_KEY, _ok(rs.EventList, "A page"), OF_OBJECT,
              query=rq.EventListQuery),
    Operation("get", f"{V1}/events/{{event_id}}", "getEvent", "An event", "events", API_KEY,
              _ok(rs.Event, "The event"), OF_OBJECT),
    # -- providers and the document itself
    Operation("post", "/providers/{provider}/notifications", "receiveProviderNotification",
              "A PSP's signed notification; one that does not verify is 400 and changes nothing",
              "provider_notifications", NO_AUTH,
              _ok(rs.NotificationReceived, "Verified and recorded"), ("400", "403", "404", "500"),
              raw_body={"type": "object", "description": "The provider's own signed format"}),
    Operation("get", f"{V1}/openapi.json", "getOpenApi", "This document", "meta", NO_AUTH,
              Response(200, "The OpenAPI 3.1 document"), ("500",)),
)  # fmt: skip

TAGS = (
    "auth",
    "merchant",
    "applications",
    "api_keys",
    "webhook_endpoints",
    "team",
    "audit_events",
    "payment_sessions",
    "refunds",
    "events",
    "provider_notifications",
    "meta",
)
INFO = {
    "title": "kadosei API",
    "version": "1",
    "description": "Payment orchestration: one integration, every provider. Amounts are "
    "integers in minor units; timestamps ISO 8601 UTC with `Z`; every response carries "
    "`X-Request-Id`; HTTPS only. Request bodies are JSON objects; no string anywhere in "
    "one may hold a NUL character (U+0000) or a lone surrogate (`400 parameter_invalid`).",
}


@cache
def openapi_document() -> dict:
    """The whole document, built once per process from the models (it cannot change)."""
    return build_document(
        info=INFO,
        tags=TAGS,
        operations=OPERATIONS,
        path_parameters=PATH_PARAMETERS,
        error_responses=ERROR_RESPONSES,
        error_model=rs.Error,
    )


@bp.get("/openapi.json")
def get_openapi():
    return openapi_document()
