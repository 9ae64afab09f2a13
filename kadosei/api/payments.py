"""Payment sessions (API key): create, read, list, cancel, capture (docs/api.md §4)."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import api_key_required
from kadosei.api.request import json_body
from kadosei.representation import serialize_list, serialize_session
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import (
    EmptyBody,
    PaymentSessionCapture,
    PaymentSessionCreate,
    PaymentSessionListQuery,
)
from kadosei.services import payments
from kadosei.services.audit import Actor


@bp.post("/payment_sessions")
@api_key_required
def create_payment_session():
    fields = parse(PaymentSessionCreate, json_body(), context={"mode": g.mode})
    response = payments.create_payment_session(
        g.application,
        g.mode,
        fields,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return response.body, response.status


@bp.get("/payment_sessions")
@api_key_required
def list_payment_sessions():
    query = parse(PaymentSessionListQuery, request.args.to_dict())
    page = payments.list_payment_sessions(
        g.application,
        g.mode,
        status=query.status,
        reference=query.reference,
        limit=query.limit,
        starting_after=query.starting_after,
    )
    return serialize_list(page, serialize_session)


@bp.get("/payment_sessions/<session_id>")
@api_key_required
def get_payment_session(session_id: str):
    return serialize_session(payments.get_payment_session(g.application, g.mode, session_id))


@bp.post("/payment_sessions/<session_id>/cancel")
@api_key_required
def cancel_payment_session(session_id: str):
    parse(EmptyBody, json_body(allow_empty=True))
    response = payments.cancel_payment_session(
        g.application,
        g.mode,
        session_id,
        actor=Actor.api_key(g.api_key_id, g.application.id, request.remote_addr),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return response.body, response.status


@bp.post("/payment_sessions/<session_id>/capture")
@api_key_required
def capture_payment_session(session_id: str):
    fields = parse(PaymentSessionCapture, json_body(allow_empty=True))
    response = payments.capture_payment_session(
        g.application,
        g.mode,
        session_id,
        fields,
        actor=Actor.api_key(g.api_key_id, g.application.id, request.remote_addr),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return response.body, response.status
