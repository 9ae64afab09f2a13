"""Every object the API and webhooks emit, one function each: the shapes of
``kadosei.schemas.responses``, from which the OpenAPI document is generated. Beside the
models, below the API, the services and ``webhooks/``: the services writing events (whose
``data.object`` is one of these) and the webhook signer use them too."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kadosei.models import (
    ApiKey,
    Application,
    AuditEvent,
    Event,
    Invitation,
    Merchant,
    PaymentSession,
    Refund,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from kadosei.models.base import isoformat
from kadosei.services.capture_window import capture_deadline
from kadosei.services.checkout_links import checkout_url

if TYPE_CHECKING:
    from kadosei.services.pagination import Page
    from kadosei.services.team import Team
    from kadosei.services.tokens import TokenPair


def serialize_list(page: Page, serializer: Callable[[Any], dict]) -> dict:
    return {
        "object": "list",
        "data": [serializer(item) for item in page.items],
        "has_more": page.has_more,
    }


def serialize_token_pair(pair: TokenPair) -> dict:
    return {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": pair.refresh_expires_in,
    }


def serialize_merchant(merchant: Merchant) -> dict:
    return {
        "id": merchant.id,
        "object": "merchant",
        "name": merchant.name,
        "support_email": merchant.support_email,
        "created_at": isoformat(merchant.created_at),
    }


def serialize_application(application: Application) -> dict:
    return {
        "id": application.id,
        "object": "application",
        "name": application.name,
        "description": application.description,
        "archived": application.archived,
        "created_at": isoformat(application.created_at),
        "archived_at": isoformat(application.archived_at),
    }


def serialize_api_key(key: ApiKey, secret: str | None = None, warning: str | None = None) -> dict:
    """A key as lists show it; with ``secret`` (``key``) only in the response that made it,
    and its ``warning`` there when there is one (a live key while live mode takes nothing)."""
    body = {
        "id": key.id,
        "object": "api_key",
        "application_id": key.application_id,
        "mode": key.mode,
        "name": key.name,
        "hint": key.hint,
        "created_at": isoformat(key.created_at),
        "last_used_at": isoformat(key.last_used_at),
        "revoked": key.revoked,
        "revoked_at": isoformat(key.revoked_at),
    }
    if secret is not None:
        body["key"] = secret
    if warning is not None:
        body["warning"] = warning
    return body


def serialize_webhook_endpoint(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict:
    """The endpoint as the API and the ``webhook.test`` event show it; the secret only on
    creation and rotation."""
    body = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "application_id": endpoint.application_id,
        "mode": endpoint.mode,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": isoformat(endpoint.created_at),
    }
    if with_secret:
        body["secret"] = endpoint.secret
    return body


def serialize_deleted_webhook_endpoint(endpoint: WebhookEndpoint) -> dict:
    return {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}


def serialize_webhook_delivery(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "last_status_code": delivery.last_status_code,
        "last_attempt_at": isoformat(delivery.last_attempt_at),
        "next_attempt_at": isoformat(delivery.next_attempt_at),
        "created_at": isoformat(delivery.created_at),
        "completed_at": isoformat(delivery.completed_at),
    }


def serialize_session(session: PaymentSession) -> dict:
    """A payment session exactly as the API (and every event's ``data.object``) shows it."""
    failure = None
    if session.status == "failed":
        failure = {"code": session.failure_code, "message": session.failure_message}
    return {
        "id": session.id,
        "object": "payment_session",
        "status": session.status,
        "mode": session.mode,
        "amount": session.amount,
        "currency": session.currency,
        "payment_method": session.payment_method,
        "checkout_url": checkout_url(session.id),
        "success_url": session.success_url,
        "cancel_url": session.cancel_url,
        "reference": session.reference,
        "description": session.description,
        "customer_email": session.customer_email,
        "metadata": dict(session.metadata_ or {}),
        "created_at": isoformat(session.created_at),
        "expires_at": isoformat(session.expires_at),
        "completed_at": isoformat(session.completed_at),
        "failure": failure,
        "conflict": bool(session.conflict),
        "capture_method": session.capture_method or "automatic",
        "amount_captured": session.amount_captured or 0,
        "capture_before": isoformat(capture_deadline(session)),
        "amount_refunded": session.amount_refunded or 0,
        "attempts_failed": session.attempts_failed or 0,
        "last_failure": _last_failure(session),
    }


def _last_failure(session: PaymentSession) -> dict | None:
    """The last declined attempt, ``{code, message, attempt}`` (docs/api.md §4 Statuses)."""
    if session.last_failure_attempt is None:
        return None
    return {
        "code": session.last_failure_code,
        "message": session.last_failure_message,
        "attempt": session.last_failure_attempt,
    }


def serialize_refund(refund: Refund) -> dict:
    """A refund as the API (and every ``refund.*`` event's ``data.object``) shows it."""
    failure = None
    if refund.status == "failed":
        failure = {"code": refund.failure_code, "message": refund.failure_message}
    return {
        "id": refund.id,
        "object": "refund",
        "payment_session": refund.session_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason,
        "failure": failure,
        "metadata": dict(refund.metadata_ or {}),
        "created_at": isoformat(refund.created_at),
        "completed_at": isoformat(refund.completed_at),
    }


def serialize_event(event: Event) -> dict:
    """An event as ``GET /events`` shows it."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created_at": isoformat(event.created_at),
        "mode": event.mode,
        "data": event.data,
    }


def serialize_webhook_message(event: Event) -> dict:
    """A webhook's body (docs/api.md §7): the event as the API shows it, minus ``object``."""
    body = serialize_event(event)
    del body["object"]
    return body


def serialize_team_user(user: User) -> dict:
    return {
        "id": user.id,
        "object": "user",
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "created_at": isoformat(user.created_at),
        "last_login_at": isoformat(user.last_login_at),
    }


def serialize_deleted_team_user(user_id: str) -> dict:
    return {"id": user_id, "object": "user", "deleted": True}


def serialize_invitation(
    invitation: Invitation, status: str, *, accept_url: str | None = None
) -> dict:
    """An invitation; with ``accept_url`` only in the response that made it."""
    body = {
        "id": invitation.id,
        "object": "invitation",
        "email": invitation.email,
        "role": invitation.role,
        "status": status,
        "invited_by": invitation.invited_by,
        "created_at": isoformat(invitation.created_at),
        "expires_at": isoformat(invitation.expires_at),
    }
    if accept_url is not None:
        body["accept_url"] = accept_url
    return body


def serialize_team(team: Team) -> dict:
    return {
        "object": "team",
        "users": [serialize_team_user(user) for user in team.users],
        "invitations": [serialize_invitation(i, "pending") for i in team.invitations],
    }


def serialize_audit_event(event: AuditEvent, user_email: str | None = None) -> dict:
    return {
        "id": event.id,
        "object": "audit_event",
        "action": event.action,
        "user": event.user_id,
        "user_email": user_email,
        "target": event.target,
        "ip": event.ip,
        "details": dict(event.details or {}),
        "created_at": isoformat(event.created_at),
    }
