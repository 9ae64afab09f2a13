"""Reading events: an application's events in one mode (docs/api.md §4 ``/events``)."""

from __future__ import annotations

from sqlalchemy import Select, select

from kadosei.errors import not_found
from kadosei.extensions import db
from kadosei.models import Application, Event, WebhookDelivery
from kadosei.services.pagination import Page, paginate


def list_events(
    application: Application,
    mode: str,
    *,
    event_type: str | None,
    session_id: str | None,
    limit: int,
    starting_after: str | None,
) -> Page:
    """Newest first, optionally one ``type`` or one payment session's events."""
    query = _events_of(application.id, mode)
    if event_type:
        query = query.where(Event.type == event_type)
    if session_id:
        query = query.where(Event.session_id == session_id)
    return paginate(query, Event, limit=limit, starting_after=starting_after)


def get_event(application: Application, mode: str, event_id: str) -> Event:
    event = db.session.scalar(_events_of(application.id, mode).where(Event.id == event_id))
    if event is None:
        raise not_found("event", event_id)
    return event


def session_events(session_id: str) -> list[Event]:
    """Every event of one session, oldest first (the portal's timeline)."""
    return list(
        db.session.scalars(select(Event).where(Event.session_id == session_id).order_by(Event.pk))
    )


def _events_of(application_id: str, mode: str) -> Select:
    return select(Event).where(Event.application_id == application_id, Event.mode == mode)


def deliveries_by_event(events: list[Event]) -> dict[str, list[WebhookDelivery]]:
    """The webhook deliveries of each of ``events`` (the portal's timeline), oldest first."""
    ids = [event.id for event in events]
    if not ids:
        return {}
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.event_id.in_(ids))
        .order_by(WebhookDelivery.pk)
    )
    grouped: dict[str, list[WebhookDelivery]] = {}
    for delivery in db.session.scalars(query):
        grouped.setdefault(delivery.event_id, []).append(delivery)
    return grouped
