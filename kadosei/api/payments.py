"""Payment sessions (API key): create, read, list, cancel (docs/api.md §4)."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import api_key_required
from kadosei.api.request import json_body
from kadosei.api.serializers import serialize_list, serialize_session
from kadosei.services import payments
from kadosei.services.pagination import parse_limit
from kadosei.services.validation import reject_unknown


@bp.post("/payment_sessions")
@api_key_required
def create_payment_session():
    response = payments.create_payment_session(
        g.application,
        g.mode,
        json_body(),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return response.body, response.status


@bp.get("/payment_sessions")
@api_key_required
def list_payment_sessions():
    page = payments.list_payment_sessions(
        g.application,
        g.mode,
        status=request.args.get("status"),
        reference=request.args.get("reference"),
        limit=parse_limit(request.args.get("limit")),
        starting_after=request.args.get("starting_after"),
    )
    return serialize_list(page, serialize_session)


@bp.get("/payment_sessions/<session_id>")
@api_key_required
def get_payment_session(session_id: str):
    return serialize_session(payments.get_payment_session(g.application, g.mode, session_id))


@bp.post("/payment_sessions/<session_id>/cancel")
@api_key_required
def cancel_payment_session(session_id: str):
    reject_unknown(json_body(allow_empty=True), set())
    session = payments.cancel_payment_session(g.application, g.mode, session_id)
    return serialize_session(session)
