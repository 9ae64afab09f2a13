"""Events and the webhook outbox: written in the caller's transaction, enqueued after commit.

``record_event`` adds the event and one ``WebhookDelivery`` row per subscribed endpoint to the
current transaction (flush only) and hands each to the outbox (``kadosei.webhooks.outbox``),
which enqueues them once the transaction commits. If that enqueue fails, the sweeper finds the
due rows: nothing is lost.
"""

from __future__ import annotations

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import Event, WebhookDelivery, WebhookEndpoint
from kadosei.webhooks.outbox import queue_after_commit


def record_event(
    application_id: str,
    mode: str,
    event_type: str,
    data_object: dict,
    *,
    session_id: str | None = None,
    only_endpoint: WebhookEndpoint | None = None,
) -> Event:
    """Add an event (and its outbox rows) to the current transaction; the caller commits."""
    event = Event(
        application_id=application_id,
        mode=mode,
        type=event_type,
        session_id=session_id,
        data={"object": data_object},
    )
    db.session.add(event)
    db.session.flush()
    endpoints = [only_endpoint] if only_endpoint else _subscribed(application_id, mode, event_type)
    for endpoint in endpoints:
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id, event_id=event.id, event_type=event_type
        )
        db.session.add(delivery)
        db.session.flush()
        queue_after_commit(delivery.id)
    return event


def _subscribed(application_id: str, mode: str, event_type: str) -> list[WebhookEndpoint]:
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.application_id == application_id,
            WebhookEndpoint.mode == mode,
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    return [endpoint for endpoint in endpoints if endpoint.wants(event_type)]
