"""Events (API key): the application's events in the key's mode (docs/api.md §4)."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import api_key_required
from kadosei.api.serializers import serialize_event, serialize_list
from kadosei.services import event_log
from kadosei.services.pagination import parse_limit


@bp.get("/events")
@api_key_required
def list_events():
    page = event_log.list_events(
        g.application,
        g.mode,
        event_type=request.args.get("type"),
        session_id=request.args.get("payment_session"),
        limit=parse_limit(request.args.get("limit")),
        starting_after=request.args.get("starting_after"),
    )
    return serialize_list(page, serialize_event)


@bp.get("/events/<event_id>")
@api_key_required
def get_event(event_id: str):
    return serialize_event(event_log.get_event(g.application, g.mode, event_id))
