"""Webhook endpoints and their deliveries: the use cases the API and the portal share."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from kadosei.errors import Unprocessable, invalid, not_found
from kadosei.extensions import db
from kadosei.models import Application, Event, WebhookDelivery, WebhookEndpoint
from kadosei.models.base import utcnow
from kadosei.representation import serialize_webhook_endpoint
from kadosei.schemas.fields import DELIVERY_STATUSES, SUBSCRIBABLE_EVENTS
from kadosei.schemas.requests import WebhookEndpointCreate, WebhookEndpointUpdate
from kadosei.services.audit import record_audit
from kadosei.services.events import record_event
from kadosei.services.pagination import Page, paginate, scoped
from kadosei.webhooks.delivery import cancel_pending_deliveries
from kadosei.webhooks.destinations import UnsafeDestination, check_endpoint_url
from kadosei.webhooks.outbox import announce_deliveries
from kadosei.webhooks.signing import new_secret

__all__ = ["DELIVERY_STATUSES", "SUBSCRIBABLE_EVENTS"]  # the portal's choices
ROTATION_GRACE = timedelta(hours=24)
MAX_ENDPOINTS = 16  # per application and mode


def list_endpoints(application: Application) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(_live_endpoints(application).order_by(WebhookEndpoint.pk.desc()))
    )


def page_endpoints(
    application: Application, *, mode: str | None, limit: int, starting_after: str | None
) -> Page:
    query = _live_endpoints(application)
    if mode is not None:
        query = query.where(WebhookEndpoint.mode == mode)
    return paginate(query, WebhookEndpoint, limit=limit, starting_after=starting_after)


def get_endpoint(application: Application, endpoint_id: str) -> WebhookEndpoint:
    """The application's endpoint, or 404 (also another application's, or a deleted one)."""
    endpoint = db.session.scalar(
        _live_endpoints(application).where(WebhookEndpoint.id == endpoint_id)
    )
    if endpoint is None:
        raise not_found("webhook_endpoint", endpoint_id)
    return endpoint


def create_endpoint(
    application: Application, fields: WebhookEndpointCreate, *, user_id: str | None = None
) -> WebhookEndpoint:
    """A new endpoint with a fresh ``whsec_`` secret, subscribed to ``events`` (default all)."""
    mode = fields.mode
    url = _checked_url(fields.url, mode)
    if application.archived:
        raise invalid("application", "An archived application cannot get webhook endpoints")
    if _count(application, mode) >= MAX_ENDPOINTS:
        raise invalid("mode", f"An application has at most {MAX_ENDPOINTS} {mode} endpoints")
    endpoint = WebhookEndpoint(
        application_id=application.id,
        mode=mode,
        url=url,
        events=list(fields.events),
        description=fields.description,
        secret=new_secret(),
    )
    db.session.add(endpoint)
    db.session.flush()
    _audit("webhook_endpoint.created", endpoint, user_id)
    db.session.commit()
    return endpoint


def update_endpoint(
    endpoint: WebhookEndpoint, changes: WebhookEndpointUpdate, *, user_id: str | None = None
) -> WebhookEndpoint:
    """Change url, events, description or enabled; disabling stops pending deliveries."""
    given = changes.model_fields_set
    # The URL is checked before anything changes: a refused request changes nothing.
    url = _checked_url(changes.url, endpoint.mode) if "url" in given else endpoint.url
    endpoint.url = url
    if "events" in given:
        endpoint.events = list(changes.events or [])
    if "description" in given:
        endpoint.description = changes.description
    if "enabled" in given and changes.enabled != endpoint.enabled:
        _set_enabled(endpoint, changes.enabled)
    db.session.flush()
    _audit("webhook_endpoint.updated", endpoint, user_id)
    db.session.commit()
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint, *, user_id: str | None = None) -> WebhookEndpoint:
    """Delete at once: no new deliveries, pending ones stop; the log stays for the record."""
    now = utcnow()
    endpoint.deleted_at = now
    endpoint.enabled = False
    db.session.flush()
    cancel_pending_deliveries(endpoint.id, now)
    _audit("webhook_endpoint.deleted", endpoint, user_id)
    db.session.commit()
    return endpoint


def rotate_secret(
    endpoint: WebhookEndpoint, *, user_id: str | None = None, now: datetime | None = None
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (alongside) for 24 hours."""
    now = now or utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_GRACE
    endpoint.secret = new_secret()
    _audit("webhook_endpoint.secret_rotated", endpoint, user_id)
    db.session.commit()
    return endpoint


def send_test_event(endpoint: WebhookEndpoint) -> Event:
    """A ``webhook.test`` event for this endpoint only, whatever its event filter."""
    if not endpoint.enabled:
        raise Unprocessable(
            "Enable the endpoint to send it a test event", code="webhook_endpoint_disabled"
        )
    event = record_event(
        endpoint.application_id,
        endpoint.mode,
        "webhook.test",
        serialize_webhook_endpoint(endpoint),
        only_endpoint=endpoint,
    )
    db.session.commit()
    return event


def page_deliveries(
    endpoint: WebhookEndpoint,
    *,
    status: str | None,
    event_type: str | None,
    limit: int,
    starting_after: str | None,
) -> Page:
    """The endpoint's delivery log, newest first, optionally by status and event type."""
    query = scoped(WebhookDelivery, endpoint_id=endpoint.id, status=status, event_type=event_type)
    return paginate(query, WebhookDelivery, limit=limit, starting_after=starting_after)


def get_delivery(endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    delivery = db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    if delivery is None:
        raise not_found("webhook_delivery", delivery_id)
    return delivery


def delivery_event(delivery: WebhookDelivery) -> Event:
    return db.session.scalar(select(Event).where(Event.id == delivery.event_id))


def resend_delivery(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, *, now: datetime | None = None
) -> WebhookDelivery:
    """Try any delivery again now (same event, same ``webhook-id``); its tries stay logged.
    A try in flight keeps its lease: the delivery is not sent twice at once, nor does it
    leave its endpoint's share of deliveries in flight (the try's outcome then counts)."""
    if not endpoint.enabled:
        raise Unprocessable(
            "Enable the endpoint before resending to it", code="webhook_endpoint_disabled"
        )
    now = now or utcnow()
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.completed_at = None
    if delivery.locked_until is not None and delivery.locked_until < now:
        delivery.locked_until = None
    delivery.enqueued_at = now
    db.session.commit()
    announce_deliveries()
    return delivery


def _live_endpoints(application: Application):
    return select(WebhookEndpoint).where(
        WebhookEndpoint.application_id == application.id, WebhookEndpoint.deleted_at.is_(None)
    )


def _count(application: Application, mode: str) -> int:
    query = _live_endpoints(application).where(WebhookEndpoint.mode == mode)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _checked_url(url: str, mode: str) -> str:
    """Where a webhook may go in ``mode`` (live: https, never an internal address)."""
    try:
        return check_endpoint_url(
            url, mode, allow_private=current_app.config["KADOSEI_WEBHOOK_ALLOW_PRIVATE"]
        )
    except UnsafeDestination as exc:
        raise invalid("url", str(exc)) from None


def _set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else "Disabled by the merchant"
    if not enabled:
        db.session.flush()
        cancel_pending_deliveries(endpoint.id, utcnow())


def _audit(action: str, endpoint: WebhookEndpoint, user_id: str | None) -> None:
    merchant_id = db.session.scalar(
        select(Application.merchant_id).where(Application.id == endpoint.application_id)
    )
    record_audit(action, merchant_id=merchant_id, user_id=user_id, target=endpoint.id)
