"""How a payment session and an event look to merchants: the API's bodies, and so every
webhook's payload. Kept below the API so that the services writing events can use them."""

from __future__ import annotations

from kadosei.models import Event, PaymentSession
from kadosei.models.base import isoformat
from kadosei.services.checkout_links import checkout_url


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
