"""Events (API key): the application's events in the key's mode (docs/api.md §4)."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import api_key_required
from kadosei.representation import serialize_event, serialize_list
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import EventListQuery
from kadosei.services import event_log


@bp.get("/events")
@api_key_required
def list_events():
    query = parse(EventListQuery, request.args.to_dict())
    page = event_log.list_events(
        g.application,
        g.mode,
        event_type=query.type,
        session_id=query.payment_session,
        limit=query.limit,
        starting_after=query.starting_after,
    )
    return serialize_list(page, serialize_event)


@bp.get("/events/<event_id>")
@api_key_required
def get_event(event_id: str):
    return serialize_event(event_log.get_event(g.application, g.mode, event_id))
