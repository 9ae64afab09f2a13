"""Explicit serialisers: the API contract's shapes."""

from __future__ import annotations

from kadosei.models import ApiKey, Application, Event, Merchant, PaymentSession
from kadosei.models.base import isoformat
from kadosei.services.checkout_links import checkout_url
from kadosei.services.pagination import Page


def serialize_list(page: Page, serializer) -> dict:
    return {
        "object": "list",
        "data": [serializer(item) for item in page.items],
        "has_more": page.has_more,
    }


def serialize_merchant(merchant: Merchant) -> dict:
    return {
        "id": merchant.id,
        "object": "merchant",
        "name": merchant.name,
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


def serialize_api_key(key: ApiKey, secret: str | None = None) -> dict:
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
    return body


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
    }


def serialize_event(event: Event) -> dict:
    """An event as ``GET /events`` shows it; the webhook body is the same minus ``object``."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created_at": isoformat(event.created_at),
        "mode": event.mode,
        "data": event.data,
    }
